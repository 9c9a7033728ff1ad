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
import java.util.Locale;

import javax.imageio.ImageIO;

/**
 * The latency CDF of {@code ./kvmesh bench router}'s section 4 as a PNG: through the router and straight to a pod, on
 * a logarithmic latency axis, drawn with plain {@code java.awt} (headless).
 */
final class LatencyPlot {

    private static final int WIDTH = 900;
    private static final int HEIGHT = 540;
    private static final int LEFT = 70;
    private static final int RIGHT = 30;
    private static final int TOP = 50;
    private static final int BOTTOM = 60;

    private static final Color[] COLORS = {new Color(200, 60, 40), new Color(40, 90, 200), new Color(240, 150, 60),
        new Color(90, 170, 230)};

    /** One curve: sorted latencies in nanoseconds. */
    record Series(String name, long[] sorted) {
    }

    private LatencyPlot() {
    }

    static void write(Path file, List<Series> series) throws IOException {
        System.setProperty("java.awt.headless", "true");
        BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, WIDTH, HEIGHT);

        double min = Math.max(0.01, series.stream().mapToLong(s -> first(s.sorted)).min().orElse(1_000_000) / 1e6);
        double max = series.stream().mapToLong(s -> BenchFormat.pct(s.sorted, 0.999)).max().orElse(1_000_000) / 1e6;
        double lo = Math.pow(10, Math.floor(Math.log10(min)));
        double hi = Math.pow(10, Math.ceil(Math.log10(Math.max(max, lo * 10))));
        int plotWidth = WIDTH - LEFT - RIGHT;
        int plotHeight = HEIGHT - TOP - BOTTOM;

        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        for (double decade = lo; decade <= hi * 1.0001; decade *= 10) {
            for (int m : new int[] {1, 2, 5}) {
                double v = decade * m;
                if (v > hi * 1.0001) {
                    break;
                }
                int x = LEFT + (int) Math.round(plotWidth * Math.log10(v / lo) / Math.log10(hi / lo));
                g.setColor(m == 1 ? new Color(200, 200, 200) : new Color(235, 235, 235));
                g.drawLine(x, TOP, x, TOP + plotHeight);
                g.setColor(Color.DARK_GRAY);
                String label = v >= 1 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%s", trim(v));
                g.drawString(label, x - g.getFontMetrics().stringWidth(label) / 2, TOP + plotHeight + 16);
            }
        }
        for (int p = 0; p <= 100; p += 10) {
            int y = TOP + plotHeight - plotHeight * p / 100;
            g.setColor(p == 50 || p == 100 ? new Color(200, 200, 200) : new Color(235, 235, 235));
            g.drawLine(LEFT, y, LEFT + plotWidth, y);
            g.setColor(Color.DARK_GRAY);
            String label = p + "%";
            g.drawString(label, LEFT - 8 - g.getFontMetrics().stringWidth(label), y + 4);
        }
        int y99 = TOP + plotHeight - (int) Math.round(plotHeight * 0.99);
        g.setColor(new Color(255, 200, 200));
        g.drawLine(LEFT, y99, LEFT + plotWidth, y99);
        g.setColor(Color.BLACK);
        g.drawRect(LEFT, TOP, plotWidth, plotHeight);
        g.drawString("latency, ms (log scale)", LEFT + plotWidth / 2 - 60, HEIGHT - 18);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString("kvmesh bench router: latency CDF, via the router vs straight to a sim pod",
                LEFT, 28);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        g.setColor(new Color(255, 255, 255, 220));
        g.fillRect(LEFT + 8, TOP + 6, 540, 8 + 20 * series.size());
        for (int i = 0; i < series.size(); i++) {
            Color color = COLORS[i % COLORS.length];
            curve(g, series.get(i).sorted, color, lo, hi, plotWidth, plotHeight);
            legend(g, i, series.get(i).name, series.get(i).sorted, color);
        }
        g.dispose();
        Files.createDirectories(file.toAbsolutePath().getParent());
        ImageIO.write(image, "png", file.toFile());
    }

    private static void curve(Graphics2D g, long[] sorted, Color color, double lo, double hi, int plotWidth, int plotHeight) {
        if (sorted.length == 0) {
            return;
        }
        g.setColor(color);
        g.setStroke(new BasicStroke(2f));
        int lastX = -1;
        int lastY = -1;
        int step = Math.max(1, sorted.length / 4000);
        for (int i = 0; i < sorted.length; i += step) {
            double ms = Math.max(lo, Math.min(hi, sorted[i] / 1e6));
            int x = LEFT + (int) Math.round(plotWidth * Math.log10(ms / lo) / Math.log10(hi / lo));
            int y = TOP + plotHeight - (int) Math.round(plotHeight * (i + 1.0) / sorted.length);
            if (lastX >= 0) {
                g.drawLine(lastX, lastY, x, y);
            }
            lastX = x;
            lastY = y;
        }
        g.setStroke(new BasicStroke(1f));
    }

    private static void legend(Graphics2D g, int row, String name, long[] sorted, Color color) {
        int x = LEFT + 16;
        int y = TOP + 22 + row * 20;
        g.setColor(color);
        g.fillRect(x, y - 9, 18, 4);
        g.setColor(Color.BLACK);
        g.drawString(String.format(Locale.ROOT, "%s: p50 %.2f ms, p99 %.2f ms, n=%,d", name,
                BenchFormat.pct(sorted, 0.5) / 1e6, BenchFormat.pct(sorted, 0.99) / 1e6, sorted.length), x + 26, y - 3);
    }

    private static long first(long[] sorted) {
        return sorted.length == 0 ? Long.MAX_VALUE : sorted[0];
    }

    private static String trim(double v) {
        String text = String.format(Locale.ROOT, "%.3f", v);
        return text.replaceAll("0+$", "").replaceAll("\\.$", "");
    }
}
