package io.kvmesh.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The mesh benchmark's prompts, seeded so that every policy gets the same requests at the same times.
 *
 * <ul>
 * <li>Shared prefix (SGLang's {@code generated-shared-prefix}, inference-perf's {@code shared_prefix}): {@code groups}
 * long system prompts, each request one of them (uniformly) plus a short question of its own.</li>
 * <li>Multi-turn chat: conversations whose every round appends the answer and a new question to the prompt.</li>
 * </ul>
 */
final class MeshWorkloads {

    private static final String[] WORDS = ("time year people way day man thing woman life child world school state family "
            + "student group country problem hand part place case week company system program question work government "
            + "number night point home water room mother area money story fact month lot right study book eye job word "
            + "business issue side kind head house service friend father power hour game line end member law car city "
            + "community name president team minute idea kid body information back parent face others level office door "
            + "health person art war history party result change morning reason research girl guy moment air teacher force "
            + "education foot boy age policy everything process music market sense nation plan college interest death "
            + "experience effect use class control care field development role effort rate heart drug show leader light "
            + "voice wife police mind price report decision son view relationship town road arm difference value building "
            + "action model season society tax director position player record paper space ground form event official "
            + "matter center couple site project activity star table need court oil situation cost industry figure street "
            + "image phone data picture practice piece land product doctor wall patient worker news test movie north love "
            + "support technology step baby computer type attention film tree source organization hair window evidence "
            + "population site truth letter theory cell").split(" ");

    private MeshWorkloads() {
    }

    static String words(SplittableRandom random, int count) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < count; i++) {
            if (i > 0) {
                text.append(' ');
            }
            text.append(WORDS[random.nextInt(WORDS.length)]);
        }
        return text.toString();
    }

    /** The shared-prefix workload's system prompts, one per group. */
    record SharedPrefix(List<String> systemPrompts, int questionWords) {

        static SharedPrefix build(int groups, int systemWords, int questionWords, long seed) {
            SplittableRandom random = new SplittableRandom(seed);
            List<String> prompts = new ArrayList<>(groups);
            for (int g = 0; g < groups; g++) {
                prompts.add("System prompt " + g + ". You are assistant number " + g + "; use this reference material. "
                        + words(random, systemWords) + "\n\n");
            }
            return new SharedPrefix(List.copyOf(prompts), questionWords);
        }

        /** Poisson arrivals at {@code rate} for {@code seconds}, each a random group's prompt and a fresh question. */
        List<MeshLoad.Planned> plan(double rate, double seconds, long seed) {
            SplittableRandom random = new SplittableRandom(seed);
            List<MeshLoad.Planned> plan = new ArrayList<>();
            double t = 0;
            while (true) {
                t += -Math.log(1 - random.nextDouble()) / rate;
                if (t >= seconds) {
                    return plan;
                }
                int group = random.nextInt(systemPrompts.size());
                plan.add(new MeshLoad.Planned((long) (t * 1e9), group,
                        systemPrompts.get(group) + "Question: " + words(random, questionWords) + "?\nAnswer:"));
            }
        }
    }

    /** One multi-turn conversation: its opening and the questions of its later rounds. */
    record Conversation(int id, long startNanos, String opening, List<String> questions) {
    }

    /** Conversations arriving Poisson at {@code rate} for {@code seconds}, each {@code rounds} rounds. */
    static List<Conversation> conversations(double rate, double seconds, int rounds, int openingWords, int questionWords, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Conversation> conversations = new ArrayList<>();
        double t = 0;
        while (true) {
            t += -Math.log(1 - random.nextDouble()) / rate;
            if (t >= seconds) {
                return conversations;
            }
            int id = conversations.size();
            String opening = "Conversation " + id + ". The user shares a document and asks about it. "
                    + words(random, openingWords) + "\nUser: " + words(random, questionWords) + "?\nAssistant:";
            List<String> questions = new ArrayList<>();
            for (int r = 1; r < rounds; r++) {
                questions.add("\nUser: " + words(random, questionWords) + "?\nAssistant:");
            }
            conversations.add(new Conversation(id, (long) (t * 1e9), opening, List.copyOf(questions)));
        }
    }
}
