package io.kvmesh.runtime.lamps;

/**
 * Seconds one engine iteration takes for {@code q} tokens, {@code a·q² + b·q + c} (InferCept's form: the quadratic
 * term is attention over long prompts, the constant the per-iteration overhead). Fitted from measured iterations by
 * least squares ({@link #fit}), so the costs are this engine's on this machine, not a paper's.
 */
public record ForwardCostModel(double a, double b, double c) {

    public ForwardCostModel {
        if (!(a >= 0 && b >= 0 && c >= 0) || !Double.isFinite(a + b + c)) {
            throw new IllegalArgumentException("coefficients must be finite and >= 0, got " + a + ", " + b + ", " + c);
        }
    }

    /** Seconds to compute {@code tokens} tokens in one iteration. */
    public double seconds(long tokens) {
        return tokens <= 0 ? 0 : a * tokens * (double) tokens + b * tokens + c;
    }

    /**
     * The least-squares fit of {@code seconds[i] ≈ a·q[i]² + b·q[i] + c}, minimising <em>relative</em> error (each
     * sample weighted by 1/seconds²): iterations span milliseconds to seconds, and an absolute fit would let the
     * long ones' noise swamp the per-iteration constant that decides short recomputations. Negative coefficients,
     * which noise can produce, are refitted without that term so the model stays monotone.
     */
    public static ForwardCostModel fit(long[] tokens, double[] seconds) {
        if (tokens.length != seconds.length || tokens.length < 3) {
            throw new IllegalArgumentException("need at least 3 (tokens, seconds) samples of equal count, got "
                    + tokens.length + " and " + seconds.length);
        }
        double[] full = solve(tokens, seconds, true, true);
        if (full[0] >= 0 && full[1] >= 0 && full[2] >= 0) {
            return new ForwardCostModel(full[0], full[1], full[2]);
        }
        double[] linear = solve(tokens, seconds, false, true);
        if (linear[1] >= 0 && linear[2] >= 0) {
            return new ForwardCostModel(0, linear[1], linear[2]);
        }
        double[] proportional = solve(tokens, seconds, false, false);
        return new ForwardCostModel(0, Math.max(0, proportional[1]), 0);
    }

    /** Least squares over the chosen terms (q², q, 1); returns {a, b, c} with unchosen terms 0. */
    private static double[] solve(long[] tokens, double[] seconds, boolean quadratic, boolean constant) {
        int terms = (quadratic ? 1 : 0) + 1 + (constant ? 1 : 0);
        double[][] normal = new double[terms][terms + 1];
        for (int i = 0; i < tokens.length; i++) {
            double q = tokens[i];
            double weight = seconds[i] > 0 ? 1 / (seconds[i] * seconds[i]) : 1;
            double[] row = new double[terms];
            int k = 0;
            if (quadratic) {
                row[k++] = q * q;
            }
            row[k++] = q;
            if (constant) {
                row[k] = 1;
            }
            for (int r = 0; r < terms; r++) {
                for (int col = 0; col < terms; col++) {
                    normal[r][col] += weight * row[r] * row[col];
                }
                normal[r][terms] += weight * row[r] * seconds[i];
            }
        }
        double[] x = gauss(normal, terms);
        double[] abc = new double[3];
        int k = 0;
        if (quadratic) {
            abc[0] = x[k++];
        }
        abc[1] = x[k++];
        if (constant) {
            abc[2] = x[k];
        }
        return abc;
    }

    private static double[] gauss(double[][] m, int n) {
        for (int col = 0; col < n; col++) {
            int pivot = col;
            for (int r = col + 1; r < n; r++) {
                if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) {
                    pivot = r;
                }
            }
            double[] swap = m[col];
            m[col] = m[pivot];
            m[pivot] = swap;
            if (Math.abs(m[col][col]) < 1e-300) {
                throw new IllegalArgumentException("samples do not determine the model (all at the same token count?)");
            }
            for (int r = 0; r < n; r++) {
                if (r != col) {
                    double f = m[r][col] / m[col][col];
                    for (int k = col; k <= n; k++) {
                        m[r][k] -= f * m[col][k];
                    }
                }
            }
        }
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = m[i][n] / m[i][i];
        }
        return x;
    }
}
