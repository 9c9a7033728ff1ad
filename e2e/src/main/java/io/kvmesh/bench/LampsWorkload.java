package io.kvmesh.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The agentic workload of {@code ./kvmesh bench lamps}, after InferCept's benchmark (reference/serving-algorithms.md,
 * "InferCept and LAMPS"): sessions arrive Poisson; each is one kind of augmentation (a tool) with its own per-session
 * parameters — an initial prompt, a number of calls, the tokens generated before each call, how long each call takes
 * and how many tokens it returns — and ends with one turn without a call. The tools span InferCept's range of call
 * durations, from a calculator (milliseconds) to a human's chat reply (tens of seconds).
 *
 * <p>{@link Mix#INFERCEPT} (the default) sizes each session by its augmentation, as InferCept's six workloads are: an
 * agent in a virtual environment makes ~28 short calls per request, a math request ~4, QA ~2.5, a chat ~4.5 human
 * replies, image generation and TTS one or two long ones, with prompts and per-turn lengths of their own (InferCept,
 * ICML'24, Table 1; the blog at mlsys.wuklab.io/posts/infercept: "from just 3 times to as high as 28 times"). The
 * ranges below are drawn around those means. {@link Mix#UNIFORM} draws every session's prompt, turns and 1–6 calls
 * from one distribution whatever its tool, so a session's length cannot be predicted from anything a pod sees.
 *
 * <p>Everything is in workload time (real seconds, real token counts); a run divides every duration — calls, the sim
 * backend's costs, arrivals — by one time compression, so the shape is the same at any speed. Deterministic for a seed.
 */
final class LampsWorkload {

    /** How sessions are sized: by their tool ({@code infercept}) or all alike ({@code uniform}). */
    enum Mix {
        INFERCEPT, UNIFORM;

        static Mix parse(String text) {
            return switch (text.toLowerCase(Locale.ROOT)) {
                case "infercept" -> INFERCEPT;
                case "uniform" -> UNIFORM;
                default -> throw new IllegalArgumentException("--mix must be infercept or uniform, not " + text);
            };
        }
    }

    /** A session's sizes, in tokens before scaling: prompt, tokens generated per turn, calls (inclusive ranges). */
    record Sizes(int minPrompt, int maxPrompt, int minGenerated, int maxGenerated, int minCalls, int maxCalls) {

        /** The {@link Mix#UNIFORM} sizes: prompts of 200–1,500 tokens, 20–200 tokens per turn, 1–6 calls. */
        static final Sizes UNIFORM = new Sizes(200, 1500, 20, 200, 1, 6);
    }

    /**
     * A kind of tool call: how long a call takes (log-uniform in {@code [minSeconds, maxSeconds]}), how many tokens it
     * returns, the sizes of the sessions that use it, and the deliberately rough duration the predictor starts from
     * (it learns from the engine's resumed sessions).
     */
    enum Tool {
        CALCULATOR("calculator", 0.001, 0.005, 2, 8, new Sizes(1000, 1800, 20, 80, 2, 6), 0.5),
        SEARCH("search-qa", 0.3, 1.2, 30, 80, new Sizes(1000, 1800, 20, 80, 1, 4), 2.0),
        AGENT("agent-env", 0.05, 0.15, 15, 50, new Sizes(600, 1000, 10, 40, 18, 38), 4.0),
        CHAT("chat-human", 10.0, 60.0, 30, 110, new Sizes(300, 1000, 50, 200, 2, 7), 5.0),
        IMAGE("image-gen", 10.0, 30.0, 60, 120, new Sizes(200, 500, 20, 80, 1, 2), 15.0),
        TTS("tts", 10.0, 25.0, 1, 8, new Sizes(400, 800, 50, 200, 1, 2), 1.0);

        final String label;
        final double minSeconds;
        final double maxSeconds;
        final int minReturned;
        final int maxReturned;
        final Sizes sizes;
        final double roughDefaultSeconds;

        Tool(String label, double minSeconds, double maxSeconds, int minReturned, int maxReturned, Sizes sizes,
             double roughDefaultSeconds) {
            this.label = label;
            this.minSeconds = minSeconds;
            this.maxSeconds = maxSeconds;
            this.minReturned = minReturned;
            this.maxReturned = maxReturned;
            this.sizes = sizes;
            this.roughDefaultSeconds = roughDefaultSeconds;
        }
    }

    /** The tool's rough default call durations for the predictor, in workload seconds divided by {@code compression}. */
    static Map<String, Double> roughDefaults(double compression) {
        Map<String, Double> defaults = new LinkedHashMap<>();
        for (Tool tool : Tool.values()) {
            defaults.put(tool.label, tool.roughDefaultSeconds / compression);
        }
        return defaults;
    }

    /**
     * How a workload is drawn: the mix, token counts multiplied by {@code tokenScale} (1 for the sim run; the cpu run's
     * tiny model gets a fraction), at most {@code callCap} calls a session, token ids from {@code [minTokenId, maxTokenId)}.
     */
    record Shape(Mix mix, double tokenScale, int callCap, int minTokenId, int maxTokenId) {

        /** Full InferCept-like sizes. */
        static Shape sim(Mix mix) {
            return new Shape(mix, 1.0, Integer.MAX_VALUE, 1000, 1256);
        }

        /** The same proportions at an eighth of the tokens and at most 3 calls, for a tiny cpu model. */
        static Shape cpu(Mix mix) {
            return new Shape(mix, 0.125, 3, 1000, 20_000);
        }

        Sizes sizes(Tool tool) {
            return mix == Mix.INFERCEPT ? tool.sizes : Sizes.UNIFORM;
        }

        int scaled(int tokens) {
            return Math.max(1, (int) Math.round(tokens * tokenScale));
        }
    }

    /** One turn: what it generates and, unless it is the last, its call. */
    record Turn(int maxTokens, Tool tool, double callSeconds, int[] returned) {
        boolean hasCall() {
            return tool != null;
        }
    }

    /** One session: when it arrives (workload seconds after the start), its tool, its prompt, its turns. */
    record Session(String id, double arrivalSeconds, Tool tool, int[] prompt, List<Turn> turns) {

        int calls() {
            return turns.size() - 1;
        }

        /** Tokens of the longest prompt plus completion the session reaches (its last turn). */
        int maxContext() {
            int tokens = prompt.length;
            for (Turn turn : turns) {
                tokens += turn.maxTokens + (turn.returned == null ? 0 : turn.returned.length);
            }
            return tokens;
        }

        double callSeconds() {
            return turns.stream().mapToDouble(Turn::callSeconds).sum();
        }

        /**
         * What only the benchmark knows: the session's KV memory × time from turn {@code turn} (whose prompt is
         * {@code contextTokens} long) to its end, in tokens × decode steps, {@code Σ n·C + n²/2} over its remaining
         * turns (each context is the last one plus what was generated and what the call returned).
         */
        double memoryTimeFrom(int turn, int contextTokens) {
            double area = 0;
            double context = contextTokens;
            for (int t = turn; t < turns.size(); t++) {
                Turn spec = turns.get(t);
                area += spec.maxTokens() * context + spec.maxTokens() * (double) spec.maxTokens() / 2;
                context += spec.maxTokens() + (spec.returned() == null ? 0 : spec.returned().length);
            }
            return area;
        }
    }

    final List<Session> sessions;
    final double ratePerSecond;
    final Shape shape;

    private LampsWorkload(List<Session> sessions, double ratePerSecond, Shape shape) {
        this.sessions = sessions;
        this.ratePerSecond = ratePerSecond;
        this.shape = shape;
    }

    /** {@code count} sessions arriving Poisson at {@code ratePerSecond} (workload time), tools in equal shares. */
    static LampsWorkload generate(int count, double ratePerSecond, Shape shape, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Session> sessions = new ArrayList<>(count);
        double clock = 0;
        Tool[] tools = Tool.values();
        for (int s = 0; s < count; s++) {
            if (s > 0) {
                clock += -Math.log(1 - random.nextDouble()) / ratePerSecond;
            }
            Tool tool = tools[random.nextInt(tools.length)];
            Sizes sizes = shape.sizes(tool);
            int[] prompt = tokens(random, shape.scaled(between(random, sizes.minPrompt(), sizes.maxPrompt())), shape);
            int calls = Math.min(shape.callCap(), between(random, sizes.minCalls(), sizes.maxCalls()));
            List<Turn> turns = new ArrayList<>(calls + 1);
            for (int c = 0; c <= calls; c++) {
                int generated = shape.scaled(between(random, sizes.minGenerated(), sizes.maxGenerated()));
                if (c == calls) {
                    turns.add(new Turn(generated, null, 0, null));
                } else {
                    double seconds = tool.minSeconds * Math.pow(tool.maxSeconds / tool.minSeconds, random.nextDouble());
                    int[] returned = tokens(random, shape.scaled(between(random, tool.minReturned, tool.maxReturned)), shape);
                    turns.add(new Turn(generated, tool, seconds, returned));
                }
            }
            sessions.add(new Session(String.format(Locale.ROOT, "s%05d", s), clock, tool, prompt, List.copyOf(turns)));
        }
        return new LampsWorkload(List.copyOf(sessions), ratePerSecond, shape);
    }

    int turns() {
        return sessions.stream().mapToInt(s -> s.turns().size()).sum();
    }

    int calls() {
        return sessions.stream().mapToInt(Session::calls).sum();
    }

    double lastArrivalSeconds() {
        return sessions.isEmpty() ? 0 : sessions.getLast().arrivalSeconds();
    }

    int maxContext() {
        return sessions.stream().mapToInt(Session::maxContext).max().orElse(0);
    }

    double meanPrompt() {
        return sessions.stream().mapToInt(s -> s.prompt().length).average().orElse(0);
    }

    double meanCallSeconds() {
        return sessions.stream().flatMap(s -> s.turns().stream()).filter(Turn::hasCall).mapToDouble(Turn::callSeconds)
                .average().orElse(0);
    }

    /** e.g. "calculator 17%, search-qa 16%, ...". */
    String toolMix() {
        int[] counts = new int[Tool.values().length];
        sessions.forEach(s -> counts[s.tool().ordinal()]++);
        StringBuilder text = new StringBuilder();
        for (Tool tool : Tool.values()) {
            if (!text.isEmpty()) {
                text.append(", ");
            }
            text.append(String.format(Locale.ROOT, "%s %.0f%%", tool.label, 100.0 * counts[tool.ordinal()] / Math.max(1, sessions.size())));
        }
        return text.toString();
    }

    private static int between(SplittableRandom random, int min, int max) {
        return min + random.nextInt(max - min + 1);
    }

    private static int[] tokens(SplittableRandom random, int count, Shape shape) {
        int[] ids = new int[count];
        Arrays.setAll(ids, i -> random.nextInt(shape.minTokenId, shape.maxTokenId));
        return ids;
    }
}
