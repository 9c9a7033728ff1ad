package io.kvmesh.prefix.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

import io.kvmesh.prefix.blocks.BlockHashFormat;
import io.kvmesh.prefix.blocks.BlockHasher;

/**
 * {@code kvmesh hash --model M [--salt S] [--block-size B] T1,T2,…}: one line per full block, the block hash as 16
 * lowercase hex digits. The cross-check other implementations of block identity use. Bad arguments exit with 2 and
 * a one-line reason on standard error.
 */
public final class HashCommand {

    static final String USAGE = "usage: kvmesh hash --model MODEL_ID [--salt SALT] [--block-size N] TOKEN_ID[,TOKEN_ID...] ...";

    private HashCommand() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        try {
            Arguments arguments = Arguments.parse(args);
            if (arguments.help) {
                out.println(USAGE);
                return 0;
            }
            BlockHasher hasher = new BlockHasher(arguments.model, arguments.salt, arguments.blockSize);
            StringBuilder lines = new StringBuilder();
            for (long hash : hasher.hashFullBlocks(arguments.tokenIds)) {
                lines.append(BlockHashFormat.format(hash)).append('\n');
            }
            out.print(lines);
            out.flush();
            return 0;
        } catch (IllegalArgumentException e) {
            err.println("kvmesh hash: " + e.getMessage());
            return 2;
        }
    }

    private static final class Arguments {
        String model;
        String salt = "";
        int blockSize = 16;
        int[] tokenIds;
        boolean help;

        static Arguments parse(String[] args) {
            Arguments parsed = new Arguments();
            List<Integer> tokens = new ArrayList<>();
            boolean sawTokens = false;
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                switch (arg) {
                    case "-h", "--help" -> parsed.help = true;
                    case "--model" -> parsed.model = value(args, ++i, arg);
                    case "--salt" -> parsed.salt = value(args, ++i, arg);
                    case "--block-size" -> parsed.blockSize = blockSize(value(args, ++i, arg));
                    default -> {
                        if (arg.startsWith("--model=")) {
                            parsed.model = arg.substring("--model=".length());
                        } else if (arg.startsWith("--salt=")) {
                            parsed.salt = arg.substring("--salt=".length());
                        } else if (arg.startsWith("--block-size=")) {
                            parsed.blockSize = blockSize(arg.substring("--block-size=".length()));
                        } else if (arg.startsWith("-") && !arg.matches("-\\d.*")) {
                            throw new IllegalArgumentException("unknown option " + arg + "; " + USAGE);
                        } else {
                            sawTokens = true;
                            addTokens(arg, tokens);
                        }
                    }
                }
            }
            if (parsed.help) {
                return parsed;
            }
            if (parsed.model == null) {
                throw new IllegalArgumentException("--model is required; " + USAGE);
            }
            if (!sawTokens) {
                throw new IllegalArgumentException("no token ids given; " + USAGE);
            }
            parsed.tokenIds = tokens.stream().mapToInt(Integer::intValue).toArray();
            return parsed;
        }

        private static String value(String[] args, int i, String option) {
            if (i >= args.length) {
                throw new IllegalArgumentException(option + " needs a value");
            }
            return args[i];
        }

        private static int blockSize(String text) {
            try {
                return Integer.parseInt(text.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--block-size must be a whole number, got \"" + text + "\"");
            }
        }

        private static void addTokens(String list, List<Integer> tokens) {
            for (String part : list.split(",", -1)) {
                String text = part.trim();
                if (text.isEmpty()) {
                    throw new IllegalArgumentException("empty token id in \"" + list + "\"");
                }
                long value;
                try {
                    value = Long.parseLong(text);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("token id \"" + text + "\" is not a whole number in 0..4294967295");
                }
                tokens.add(BlockHasher.tokenId(value));
            }
        }
    }
}
