package io.kvmesh.model.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

import io.kvmesh.model.gen.ModelGenerator;
import io.kvmesh.model.gen.ModelShape;
import io.kvmesh.model.gen.RopeScaling;
import io.kvmesh.model.gguf.GgmlType;

/**
 * {@code kvmesh gen-model [--preset tiny|small|1b] [--type F16|BF16|Q8_0|Q4_0] [--seed N] [--dim N] [--layers N]
 * [--heads N] [--kv-heads N] [--ffn N] [--context N] [--rope-theta F] [--rope-scaling none|linear:F|llama3[:F]]
 * [--no-chat-template] --out FILE.gguf}: a seeded
 * random-weight Llama-family model with the cl100k_base vocabulary and Llama 3's chat tokens and chat template
 * ({@code --no-chat-template} leaves {@code tokenizer.chat_template} out, so servers use their fallback chat format).
 */
public final class GenModelCommand {

    static final String USAGE = "usage: kvmesh gen-model [--preset tiny|small|1b] [--type F16|BF16|Q8_0|Q4_0] [--seed N] "
            + "[--dim N] [--layers N] [--heads N] [--kv-heads N] [--ffn N] [--context N] [--rope-theta F] "
            + "[--rope-scaling none|linear:F|llama3[:F]] [--no-chat-template] --out FILE.gguf";

    private GenModelCommand() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        try {
            ModelShape shape = ModelShape.preset("small");
            GgmlType type = GgmlType.Q8_0;
            long seed = 42;
            Path file = null;
            boolean chatTemplate = true;
            for (int i = 0; i < args.length; i++) {
                String option = args[i];
                if (option.equals("-h") || option.equals("--help")) {
                    out.println(USAGE);
                    return 0;
                }
                if (option.equals("--no-chat-template")) {
                    chatTemplate = false;
                    continue;
                }
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(option + " needs a value; " + USAGE);
                }
                String value = args[++i];
                shape = switch (option) {
                    case "--preset" -> ModelShape.preset(value);
                    case "--dim" -> new ModelShape("custom", number(option, value), shape.layers(), shape.heads(), shape.kvHeads(), shape.ffnDim(), shape.contextLength(), shape.ropeTheta(), shape.vocabularySize(), shape.tiedOutput(), shape.ropeScaling());
                    case "--layers" -> new ModelShape("custom", shape.dim(), number(option, value), shape.heads(), shape.kvHeads(), shape.ffnDim(), shape.contextLength(), shape.ropeTheta(), shape.vocabularySize(), shape.tiedOutput(), shape.ropeScaling());
                    case "--heads" -> new ModelShape("custom", shape.dim(), shape.layers(), number(option, value), shape.kvHeads(), shape.ffnDim(), shape.contextLength(), shape.ropeTheta(), shape.vocabularySize(), shape.tiedOutput(), shape.ropeScaling());
                    case "--kv-heads" -> new ModelShape("custom", shape.dim(), shape.layers(), shape.heads(), number(option, value), shape.ffnDim(), shape.contextLength(), shape.ropeTheta(), shape.vocabularySize(), shape.tiedOutput(), shape.ropeScaling());
                    case "--ffn" -> new ModelShape("custom", shape.dim(), shape.layers(), shape.heads(), shape.kvHeads(), number(option, value), shape.contextLength(), shape.ropeTheta(), shape.vocabularySize(), shape.tiedOutput(), shape.ropeScaling());
                    case "--context" -> new ModelShape("custom", shape.dim(), shape.layers(), shape.heads(), shape.kvHeads(), shape.ffnDim(), number(option, value), shape.ropeTheta(), shape.vocabularySize(), shape.tiedOutput(), shape.ropeScaling());
                    case "--rope-scaling" -> shape.withRopeScaling(RopeScaling.parse(value));
                    case "--rope-theta" -> new ModelShape("custom", shape.dim(), shape.layers(), shape.heads(), shape.kvHeads(), shape.ffnDim(), shape.contextLength(), (float) decimal(option, value), shape.vocabularySize(), shape.tiedOutput(), shape.ropeScaling());
                    default -> shape;
                };
                switch (option) {
                    case "--type" -> type = type(value);
                    case "--seed" -> seed = number(option, value);
                    case "--out" -> file = Path.of(value);
                    case "--preset", "--dim", "--layers", "--heads", "--kv-heads", "--ffn", "--context", "--rope-theta" -> {
                    }
                    default -> throw new IllegalArgumentException("unknown option " + option + "; " + USAGE);
                }
            }
            if (file == null) {
                throw new IllegalArgumentException("--out is required; " + USAGE);
            }
            if (file.toAbsolutePath().getParent() != null) {
                Files.createDirectories(file.toAbsolutePath().getParent());
            }
            long started = System.nanoTime();
            ModelGenerator.write(shape, type, seed, file, chatTemplate);
            out.printf(Locale.ROOT, "wrote %s: %s preset, %s, %.1f M parameters, %.1f MB, seed %d, %s, in %.1f s%n", file,
                    shape.name(), type, shape.parameters() / 1e6, Files.size(file) / 1e6, seed,
                    chatTemplate ? "Llama 3 chat template" : "no chat template", (System.nanoTime() - started) / 1e9);
            return 0;
        } catch (IllegalArgumentException e) {
            err.println("kvmesh gen-model: " + e.getMessage());
            return 2;
        } catch (IOException e) {
            err.println("kvmesh gen-model: cannot write the model: " + e.getMessage());
            return 2;
        }
    }

    private static GgmlType type(String value) {
        return switch (value.toUpperCase(Locale.ROOT)) {
            case "F16" -> GgmlType.F16;
            case "BF16" -> GgmlType.BF16;
            case "Q8_0" -> GgmlType.Q8_0;
            case "Q4_0" -> GgmlType.Q4_0;
            default -> throw new IllegalArgumentException("--type must be F16, BF16, Q8_0 or Q4_0, got " + value);
        };
    }

    private static int number(String option, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " needs a whole number, got " + value);
        }
    }

    private static double decimal(String option, String value) {
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " needs a number, got " + value);
        }
    }
}
