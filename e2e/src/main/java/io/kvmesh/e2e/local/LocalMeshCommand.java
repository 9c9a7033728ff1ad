package io.kvmesh.e2e.local;

import java.nio.file.Path;

/**
 * {@code ./kvmesh up [--pods N] [--backend sim] [--port P] [--policy NAME]}: starts the local mesh, prints the endpoint
 * and a curl example, and runs until Ctrl-C, which stops every process it started.
 */
public final class LocalMeshCommand {

    private LocalMeshCommand() {
    }

    public static void main(String[] args) throws InterruptedException {
        Path root = Path.of(System.getProperty("io.kvmesh.root", ".")).toAbsolutePath().normalize();
        // People get real tokens by default: the cpu backend on a generated small model.
        LocalMesh.Options options = LocalMesh.Options.defaults(root).withBackend("cpu");
        try {
            for (int i = 0; i < args.length; i++) {
                String value = i + 1 < args.length ? args[i + 1] : null;
                switch (args[i]) {
                    case "--pods" -> options = options.withPods(positive(value, "--pods"));
                    case "--port" -> options = options.withRouterPort(positive(value, "--port"));
                    case "--policy" -> options = options.withPolicy(required(value, "--policy"));
                    case "--backend" -> options = options.withBackend(required(value, "--backend"));
                    case "--model" -> options = options.withModel(Path.of(required(value, "--model")).toAbsolutePath());
                    case "-h", "--help" -> {
                        System.out.println("usage: kvmesh up [--pods N] [--backend cpu|sim|cuda|auto] [--model FILE.gguf] [--port P] [--policy prefix-aware|least-load|round-robin|random]");
                        System.out.println("  cpu (default) serves FILE.gguf, or a generated small model; sim runs the cost model without arithmetic;");
                        System.out.println("  cuda runs it on the GPU (refused without one); auto: cuda where a GPU is, else cpu");
                        return;
                    }
                    default -> throw new IllegalArgumentException("unknown option " + args[i] + "; kvmesh up --help lists them");
                }
                i++;
            }
            if (options.model() != null && options.backend().equals("sim")) {
                throw new IllegalArgumentException("--model needs the cpu, cuda or auto backend (the sim backend computes nothing)");
            }
            if (options.model() != null && !java.nio.file.Files.isRegularFile(options.model())) {
                throw new IllegalArgumentException("no such model file: " + options.model());
            }
            if (!java.util.Set.of("sim", "cpu", "cuda", "auto").contains(options.backend())) {
                throw new IllegalArgumentException("backend " + options.backend() + " is not available; use sim, cpu, cuda or auto");
            }
        } catch (IllegalArgumentException e) {
            System.err.println("kvmesh up: " + e.getMessage());
            System.exit(2);
        }
        if (!options.backend().equals("sim") && options.model() == null) {
            options = options.withModel(defaultModel(root));
        }
        LocalMesh mesh;
        try {
            mesh = LocalMesh.start(options, line -> System.out.print("\r\u001B[K  " + line));
        } catch (RuntimeException e) {
            System.err.println();
            System.err.println("kvmesh up: " + e.getMessage());
            System.exit(1);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("\nkvmesh up: stopping...");
            mesh.close();
            System.out.println("kvmesh up: stopped");
        }));
        System.out.println();
        System.out.printf("""
                kvmesh is up: %d %s runtime pods, cache index, router (policy %s), Kafka at %s
                logs: %s

                endpoint: %s/v1

                  curl -s %s/v1/completions -H 'content-type: application/json' \\
                    -d '{"model": "%s", "prompt": "Say hello to the KV cache", "max_tokens": 16}'

                Ctrl-C stops everything.
                """, options.pods(), options.backend(), options.policy(), mesh.broker().bootstrapServers(),
                mesh.runDirectory(), mesh.routerUrl(), mesh.routerUrl(),
                options.model() == null ? "kvmesh-sim" : options.model().getFileName().toString().replaceFirst("\\.gguf$", ""));
        Thread.currentThread().join();
    }

    /**
     * The generated small Q8_0 model, written once into .kvmesh/models (the name changes when gen-model's output
     * does: v2 has Llama 3's chat tokens and chat template).
     */
    private static Path defaultModel(Path root) {
        Path file = root.resolve(".kvmesh/models/small-q8_0-v2.gguf");
        if (!java.nio.file.Files.isRegularFile(file)) {
            System.out.println("  generating the default model (small preset, Q8_0, seed 42) into " + file + " ...");
            try {
                java.nio.file.Files.createDirectories(file.getParent());
                Path partial = file.resolveSibling(file.getFileName() + ".partial");
                io.kvmesh.model.gen.ModelGenerator.write(io.kvmesh.model.gen.ModelShape.preset("small"),
                        io.kvmesh.model.gguf.GgmlType.Q8_0, 42, partial);
                java.nio.file.Files.move(partial, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } catch (java.io.IOException e) {
                System.err.println("kvmesh up: cannot write the default model: " + e.getMessage());
                System.exit(1);
            }
        }
        return file;
    }

    private static int positive(String value, String option) {
        try {
            int number = Integer.parseInt(required(value, option));
            if (number < 1) {
                throw new NumberFormatException();
            }
            return number;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " needs a positive whole number, got " + value);
        }
    }

    private static String required(String value, String option) {
        if (value == null) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return value;
    }
}
