package io.kvmesh.runtime.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Collectors;

import io.kvmesh.model.gguf.GgufFormatException;
import io.kvmesh.model.tokenizer.StreamingDecoder;
import io.kvmesh.runtime.engine.Sampler;
import io.kvmesh.runtime.engine.SamplingParams;
import io.kvmesh.runtime.model.KvStore;
import io.kvmesh.runtime.model.LlamaForward;
import io.kvmesh.runtime.model.LlamaModel;

/**
 * {@code kvmesh generate --model FILE.gguf --prompt TEXT [--max-tokens N] [--temperature T] [--seed S]}: runs the cpu
 * engine's forward pass on one prompt and prints the completion as it is generated, then a last line
 * {@code tokens: id,id,…} with the generated ids (greedy at temperature 0, the default). Stops at end-of-sequence.
 */
public final class GenerateCommand {

    static final String USAGE = "usage: kvmesh generate --model FILE.gguf --prompt TEXT [--max-tokens N] [--temperature T] [--seed S]";

    private GenerateCommand() {
    }

    /** Prompt tokens per forward pass, as the engine's batches (the weights are read once per chunk). */
    static final int PREFILL_CHUNK = 64;

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        Path file = null;
        String prompt = null;
        int maxTokens = 32;
        double temperature = 0;
        Long seed = null;
        try {
            for (int i = 0; i < args.length; i++) {
                String option = args[i];
                if (option.equals("-h") || option.equals("--help")) {
                    out.println(USAGE);
                    return 0;
                }
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(option + " needs a value; " + USAGE);
                }
                String value = args[++i];
                switch (option) {
                    case "--model" -> file = Path.of(value);
                    case "--prompt" -> prompt = value;
                    case "--max-tokens" -> maxTokens = Integer.parseInt(value);
                    case "--temperature" -> temperature = Double.parseDouble(value);
                    case "--seed" -> seed = Long.parseLong(value);
                    default -> throw new IllegalArgumentException("unknown option " + option + "; " + USAGE);
                }
            }
            if (file == null || prompt == null) {
                throw new IllegalArgumentException(USAGE);
            }
            if (maxTokens < 1) {
                throw new IllegalArgumentException("--max-tokens must be at least 1");
            }
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException("no such model file: " + file);
            }
            SamplingParams sampling = new SamplingParams(temperature, 0, 1, seed);
            try (LlamaModel model = LlamaModel.load(file)) {
                int[] tokens = model.tokenizer().encode(prompt, true);
                int context = Math.min(model.config().contextLength(), tokens.length + maxTokens);
                if (tokens.length >= context) {
                    throw new IllegalArgumentException("the prompt has " + tokens.length + " tokens; the model's context is "
                            + model.config().contextLength());
                }
                LlamaForward forward = new LlamaForward(model);
                KvStore store = new KvStore(model.config().layers(), context, model.config().kvDim());
                SplittableRandom random = seed == null ? new SplittableRandom() : new SplittableRandom(seed);
                StreamingDecoder decoder = new StreamingDecoder(model.tokenizer());
                List<Integer> generated = new ArrayList<>();
                float[] logits = forward.prefill(tokens, 0, tokens.length, store, position -> position, PREFILL_CHUNK);
                for (int position = tokens.length; generated.size() < maxTokens; position++) {
                    int next = Sampler.sample(logits, sampling, random);
                    generated.add(next);
                    if (model.tokenizer().isEndOfGeneration(next)) {
                        break;
                    }
                    out.print(decoder.push(next));
                    out.flush();
                    if (generated.size() < maxTokens && position < context) {
                        logits = forward.forward(next, position, store, slot -> slot, true);
                    }
                }
                out.println(decoder.flush());
                out.println("tokens: " + generated.stream().map(String::valueOf).collect(Collectors.joining(",")));
            }
            return 0;
        } catch (NumberFormatException e) {
            err.println("kvmesh generate: a number was expected: " + e.getMessage());
            return 2;
        } catch (IllegalArgumentException | GgufFormatException e) {
            err.println("kvmesh generate: " + e.getMessage());
            return 2;
        } catch (IOException e) {
            err.println("kvmesh generate: cannot read " + file + ": " + e.getMessage());
            return 2;
        }
    }
}
