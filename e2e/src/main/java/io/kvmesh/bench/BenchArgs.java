package io.kvmesh.bench;

import java.util.Arrays;

/** The {@code --name value} and {@code --flag} options of the benchmark programs. */
final class BenchArgs {

    private BenchArgs() {
    }

    static boolean has(String[] args, String flag) {
        return Arrays.asList(args).contains(flag);
    }

    static int intArg(String[] args, String name, int fallback) {
        String value = stringArg(args, name, null);
        try {
            return value == null ? fallback : Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " wants a whole number, got " + value);
        }
    }

    static double doubleArg(String[] args, String name, double fallback) {
        String value = stringArg(args, name, null);
        try {
            return value == null ? fallback : Double.parseDouble(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " wants a number, got " + value);
        }
    }

    static String stringArg(String[] args, String name, String fallback) {
        for (int i = 0; i < args.length - 1; i++) {
            if (args[i].equals(name)) {
                return args[i + 1];
            }
        }
        return fallback;
    }
}
