package io.kvmesh.model.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

import io.kvmesh.model.gguf.GgufFile;
import io.kvmesh.model.gguf.GgufFormatException;
import io.kvmesh.model.tokenizer.Tokenizers;

/**
 * {@code kvmesh tokenize --model FILE.gguf [--no-bos] TEXT}: the token ids of TEXT, comma-separated on one line, as
 * llama.cpp's {@code llama-tokenize} would give them. Errors exit with 2 and one line on standard error.
 */
public final class TokenizeCommand {

    static final String USAGE = "usage: kvmesh tokenize --model FILE.gguf [--no-bos] TEXT";

    private TokenizeCommand() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        Path model = null;
        boolean bos = true;
        String text = null;
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--model" -> {
                        if (i + 1 >= args.length) {
                            throw new IllegalArgumentException("--model needs a file");
                        }
                        model = Path.of(args[++i]);
                    }
                    case "--no-bos" -> bos = false;
                    case "-h", "--help" -> {
                        out.println(USAGE);
                        return 0;
                    }
                    default -> {
                        if (text != null) {
                            throw new IllegalArgumentException("give the text as one argument (quote it); " + USAGE);
                        }
                        text = args[i];
                    }
                }
            }
            if (model == null || text == null) {
                throw new IllegalArgumentException(USAGE);
            }
            if (!Files.isRegularFile(model)) {
                throw new IllegalArgumentException("no such model file: " + model);
            }
            try (GgufFile gguf = GgufFile.open(model)) {
                int[] ids = Tokenizers.fromGguf(gguf).encode(text, bos);
                out.println(Arrays.stream(ids).mapToObj(String::valueOf).collect(Collectors.joining(",")));
            }
            return 0;
        } catch (IllegalArgumentException | GgufFormatException e) {
            err.println("kvmesh tokenize: " + e.getMessage());
            return 2;
        } catch (IOException e) {
            err.println("kvmesh tokenize: cannot read " + model + ": " + e.getMessage());
            return 2;
        }
    }
}
