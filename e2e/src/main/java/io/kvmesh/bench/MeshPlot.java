package io.kvmesh.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.ToDoubleFunction;

import javax.imageio.ImageIO;

/**
 * {@code ./kvmesh bench mesh} as a PNG: for each shared-prefix working set, completed requests/s and TTFT p50 (log
 * scale) against the offered rate, one line per routing policy; plain {@code java.awt}, headless.
 */
final class MeshPlot {

    private static final int PANEL_WIDTH = 560;
    private static final int PANEL_HEIGHT = 330;
    private static final int LEFT = 70;
    private static final int TOP = 40;
    private static final Color[] COLORS = {new Color(200, 60, 40), new Color(240, 150, 60), new Color(40, 150, 90),
        new Color(40, 90, 200), new Color(130, 130, 130)};

    private MeshPlot() {
    }

    static void write(Path file, List<MeshBenchmark.Row> rows, List<String> workloads) throws IOException {
        System.setProperty("java.awt.headless", "true");
        int height = Math.max(1, workloads.size()) * (PANEL_HEIGHT + 20) + 40;
        BufferedImage image = new BufferedImage(2 * PANEL_WIDTH, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, image.getWidth(), height);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString("kvmesh bench mesh: routing policies on the same requests (sim pods, real broker, router, cache index)", 20, 24);
        List<String> policies = rows.stream().map(MeshBenchmark.Row::policy).distinct().toList();
        for (int w = 0; w < workloads.size(); w++) {
            String workload = workloads.get(w);
            List<MeshBenchmark.Row> mine = rows.stream().filter(r -> r.workload().equals(workload)).toList();
            int y = 40 + w * (PANEL_HEIGHT + 20);
            panel(g, 0, y, workload + ": completed requests/s", mine, policies, MeshBenchmark.Row::requestsPerSecond, false);
            panel(g, PANEL_WIDTH, y, workload + ": TTFT p50, ms (log)", mine, policies, MeshBenchmark.Row::ttftP50, true);
        }
        g.dispose();
        Files.createDirectories(file.toAbsolutePath().getParent());
        ImageIO.write(image, "png", file.toFile());
    }

    private static void panel(Graphics2D g, int x0, int y0, String title, List<MeshBenchmark.Row> rows, List<String> policies,
                              ToDoubleFunction<MeshBenchmark.Row> value, boolean log) {
        int width = PANEL_WIDTH - LEFT - 30;
        int height = PANEL_HEIGHT - TOP - 40;
        int left = x0 + LEFT;
        int top = y0 + TOP;
        double maxX = rows.stream().mapToDouble(MeshBenchmark.Row::offered).max().orElse(1);
        double maxY = rows.stream().mapToDouble(value).max().orElse(1);
        double minY = rows.stream().mapToDouble(value).filter(v -> v > 0).min().orElse(1);
        double lo = log ? Math.pow(10, Math.floor(Math.log10(Math.max(1e-3, minY)))) : 0;
        double hi = log ? Math.pow(10, Math.ceil(Math.log10(Math.max(maxY, lo * 10)))) : niceCeiling(maxY);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 12));
        g.setColor(Color.BLACK);
        g.drawString(title, left, top - 10);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        for (int i = 0; i <= 4; i++) {
            double v = log ? lo * Math.pow(hi / lo, i / 4.0) : hi * i / 4;
            int y = top + height - height * i / 4;
            g.setColor(new Color(230, 230, 230));
            g.drawLine(left, y, left + width, y);
            g.setColor(Color.DARK_GRAY);
            String label = BenchFormat.format(v);
            g.drawString(label, left - 6 - g.getFontMetrics().stringWidth(label), y + 4);
        }
        for (double x : rows.stream().mapToDouble(MeshBenchmark.Row::offered).distinct().sorted().toArray()) {
            int px = left + (int) Math.round(width * x / maxX);
            g.setColor(Color.DARK_GRAY);
            String label = BenchFormat.format(x);
            g.drawString(label, px - g.getFontMetrics().stringWidth(label) / 2, top + height + 16);
        }
        g.drawString("offered requests/s", left + width / 2 - 50, top + height + 32);
        g.setColor(Color.BLACK);
        g.drawRect(left, top, width, height);
        for (int p = 0; p < policies.size(); p++) {
            String policy = policies.get(p);
            Color color = COLORS[p % COLORS.length];
            g.setColor(color);
            g.setStroke(new BasicStroke(2f));
            int lastX = -1;
            int lastY = -1;
            for (MeshBenchmark.Row row : rows.stream().filter(r -> r.policy().equals(policy))
                    .sorted(java.util.Comparator.comparingDouble(MeshBenchmark.Row::offered)).toList()) {
                double v = value.applyAsDouble(row);
                double fraction = log ? Math.log10(Math.max(lo, v) / lo) / Math.log10(hi / lo) : v / hi;
                int px = left + (int) Math.round(width * row.offered() / maxX);
                int py = top + height - (int) Math.round(height * Math.min(1, fraction));
                g.fillOval(px - 3, py - 3, 6, 6);
                if (lastX >= 0) {
                    g.drawLine(lastX, lastY, px, py);
                }
                lastX = px;
                lastY = py;
            }
            g.setStroke(new BasicStroke(1f));
            g.fillRect(left + 10, top + 10 + p * 16, 14, 4);
            g.setColor(Color.BLACK);
            g.drawString(policy, left + 30, top + 16 + p * 16);
        }
    }

    private static double niceCeiling(double value) {
        if (value <= 0) {
            return 1;
        }
        double magnitude = Math.pow(10, Math.floor(Math.log10(value)));
        for (double step : new double[] {1, 2, 2.5, 5, 10}) {
            if (step * magnitude >= value) {
                return step * magnitude;
            }
        }
        return 10 * magnitude;
    }

}
