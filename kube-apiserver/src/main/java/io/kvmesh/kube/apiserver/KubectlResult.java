package io.kvmesh.kube.apiserver;

/** What one {@code kubectl} run returned: its exit code and what it printed on each stream. */
public record KubectlResult(int exitCode, String stdout, String stderr) {

    public boolean succeeded() {
        return exitCode == 0;
    }

    /** Both streams, standard output first: what a person at a terminal would have seen. */
    public String output() {
        return stdout + stderr;
    }

    /** Standard output, or an exception naming the command's exit code and error output. */
    public String orThrow() {
        if (!succeeded()) {
            throw new IllegalStateException("kubectl exited with " + exitCode + ": " + output().strip());
        }
        return stdout;
    }
}
