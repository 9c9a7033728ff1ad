package io.kvmesh.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.Polygon;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import javax.imageio.ImageIO;

/**
 * The figure of {@code ./kvmesh bench lamps} as a PNG, plain {@code java.awt} (headless): for the sim section, one
 * strip per pause policy with its device KV usage over the run (filled) and host-tier usage (line), on a shared time
 * axis; below, mean and p99 session end-to-end latency per policy.
 */
final class LampsPlot {

    private static final int WIDTH = 1100;
    private static final int LEFT = 110;
    private static final int RIGHT = 30;
    private static final int TOP = 56;
    private static final int STRIP = 92;
    private static final int GAP = 12;
    private static final int BARS = 250;
    private static final int BOTTOM = 56;

    private static final Color DEVICE = new Color(40, 90, 200);
    private static final Color DEVICE_FILL = new Color(40, 90, 200, 70);
    private static final Color HOST = new Color(230, 120, 30);
    private static final Color MEAN = new Color(40, 90, 200);
    private static final Color P99 = new Color(160, 185, 235);

    private LampsPlot() {
    }

    static void write(Path file, Map<String, List<LampsBenchmark.PolicyRun>> runs, boolean quick, boolean virtualTime) throws IOException {
        System.setProperty("java.awt.headless", "true");
        String section = runs.containsKey("sim") ? "sim" : runs.keySet().stream().findFirst().orElse("sim");
        List<LampsBenchmark.PolicyRun> policies = runs.getOrDefault(section, List.of());
        int strips = Math.max(1, policies.size());
        int stripsBottom = TOP + strips * (STRIP + GAP);
        int height = stripsBottom + 40 + BARS + BOTTOM;
        BufferedImage image = new BufferedImage(WIDTH, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, WIDTH, height);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString("kvmesh bench lamps (" + section + (quick ? ", quick" : "")
                + "): KV usage over the run per pause policy, and session end-to-end latency", LEFT - 90, 24);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.setColor(DEVICE);
        g.fillRect(LEFT, 36, 18, 8);
        g.setColor(Color.BLACK);
        g.drawString("device KV blocks in use", LEFT + 24, 44);
        g.setColor(HOST);
        g.setStroke(new BasicStroke(2f));
        g.drawLine(LEFT + 200, 40, LEFT + 218, 40);
        g.setStroke(new BasicStroke(1f));
        g.setColor(Color.BLACK);
        g.drawString("host tier blocks in use", LEFT + 224, 44);

        double maxSeconds = policies.stream().mapToDouble(r -> r.kv().seconds().length == 0 ? 0
                : r.kv().seconds()[r.kv().seconds().length - 1]).max().orElse(1);
        double axisSeconds = niceCeiling(Math.max(maxSeconds, 1));
        int plotWidth = WIDTH - LEFT - RIGHT;
        for (int i = 0; i < policies.size(); i++) {
            strip(g, policies.get(i), TOP + i * (STRIP + GAP), plotWidth, axisSeconds);
        }
        // Time axis under the last strip.
        int axisY = stripsBottom - GAP;
        g.setColor(Color.DARK_GRAY);
        double step = niceStep(axisSeconds / 10);
        for (double t = 0; t <= axisSeconds + 1e-9; t += step) {
            int x = LEFT + (int) Math.round(plotWidth * t / axisSeconds);
            g.drawLine(x, axisY, x, axisY + 4);
            String label = trim(t);
            g.drawString(label, x - g.getFontMetrics().stringWidth(label) / 2, axisY + 17);
        }
        g.drawString(virtualTime ? "seconds since the first arrival (virtual time: workload seconds)"
                : "seconds since the first arrival (wall time of the compressed run)", LEFT + plotWidth / 2 - 180, axisY + 32);

        bars(g, policies, stripsBottom + 40, plotWidth);
        g.dispose();
        Files.createDirectories(file.toAbsolutePath().getParent());
        ImageIO.write(image, "png", file.toFile());
    }

    private static void strip(Graphics2D g, LampsBenchmark.PolicyRun run, int top, int plotWidth, double axisSeconds) {
        g.setColor(new Color(248, 248, 248));
        g.fillRect(LEFT, top, plotWidth, STRIP);
        g.setColor(new Color(225, 225, 225));
        for (int p = 25; p < 100; p += 25) {
            int y = top + STRIP - STRIP * p / 100;
            g.drawLine(LEFT, y, LEFT + plotWidth, y);
        }
        double[] seconds = run.kv().seconds();
        double[] device = run.kv().device();
        double[] host = run.kv().host();
        if (seconds.length > 0) {
            Polygon area = new Polygon();
            area.addPoint(x(seconds[0], plotWidth, axisSeconds), top + STRIP);
            for (int i = 0; i < seconds.length; i++) {
                area.addPoint(x(seconds[i], plotWidth, axisSeconds), y(device[i], top));
            }
            area.addPoint(x(seconds[seconds.length - 1], plotWidth, axisSeconds), top + STRIP);
            g.setColor(DEVICE_FILL);
            g.fillPolygon(area);
            line(g, seconds, device, top, plotWidth, axisSeconds, DEVICE, 1.2f);
            line(g, seconds, host, top, plotWidth, axisSeconds, HOST, 1.6f);
        }
        g.setColor(Color.GRAY);
        g.drawRect(LEFT, top, plotWidth, STRIP);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        g.drawString(run.label(), 12, top + 18);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        g.setColor(Color.DARK_GRAY);
        g.drawString(String.format(Locale.ROOT, "device mean %.0f%%", 100 * LampsBenchmark.mean(device)), 12, top + 36);
        g.drawString(String.format(Locale.ROOT, "host mean %.0f%%", 100 * LampsBenchmark.mean(host)), 12, top + 51);
        g.drawString(String.format(Locale.ROOT, "%d/%d done", run.completed(), run.sessions()), 12, top + 66);
        g.drawString("100%", LEFT - 32, top + 10);
        g.drawString("0%", LEFT - 20, top + STRIP);
    }

    private static void line(Graphics2D g, double[] seconds, double[] values, int top, int plotWidth, double axisSeconds,
                             Color color, float width) {
        g.setColor(color);
        g.setStroke(new BasicStroke(width));
        for (int i = 1; i < seconds.length; i++) {
            g.drawLine(x(seconds[i - 1], plotWidth, axisSeconds), y(values[i - 1], top), x(seconds[i], plotWidth, axisSeconds),
                    y(values[i], top));
        }
        g.setStroke(new BasicStroke(1f));
    }

    private static void bars(Graphics2D g, List<LampsBenchmark.PolicyRun> runs, int top, int plotWidth) {
        double max = runs.stream().mapToDouble(r -> BenchFormat.pct(r.e2e(), 0.99) / 1e9).max().orElse(1);
        double axis = niceCeiling(Math.max(max, 1e-3));
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        double step = niceStep(axis / 5);
        for (double v = 0; v <= axis + 1e-9; v += step) {
            int y = top + BARS - (int) Math.round(BARS * v / axis);
            g.setColor(new Color(225, 225, 225));
            g.drawLine(LEFT, y, LEFT + plotWidth, y);
            g.setColor(Color.DARK_GRAY);
            String label = trim(v) + " s";
            g.drawString(label, LEFT - 8 - g.getFontMetrics().stringWidth(label), y + 4);
        }
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        g.drawString("session E2E", 12, top + 14);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        g.setColor(MEAN);
        g.fillRect(12, top + 26, 12, 10);
        g.setColor(Color.BLACK);
        g.drawString("mean", 28, top + 35);
        g.setColor(P99);
        g.fillRect(12, top + 42, 12, 10);
        g.setColor(Color.BLACK);
        g.drawString("p99", 28, top + 51);
        int slot = plotWidth / Math.max(1, runs.size());
        int bar = Math.min(70, slot / 3);
        for (int i = 0; i < runs.size(); i++) {
            LampsBenchmark.PolicyRun run = runs.get(i);
            double mean = run.meanE2eSeconds();
            double p99 = BenchFormat.pct(run.e2e(), 0.99) / 1e9;
            int center = LEFT + slot * i + slot / 2;
            bar(g, center - bar - 2, bar, mean, axis, top, MEAN);
            bar(g, center + 2, bar, p99, axis, top, P99);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 12));
            String name = run.label();
            g.drawString(name, center - g.getFontMetrics().stringWidth(name) / 2, top + BARS + 18);
        }
        g.setColor(Color.GRAY);
        g.drawRect(LEFT, top, plotWidth, BARS);
    }

    private static void bar(Graphics2D g, int x, int width, double value, double axis, int top, Color color) {
        int h = (int) Math.round(BARS * Math.min(value, axis) / axis);
        g.setColor(color);
        g.fillRect(x, top + BARS - h, width, h);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        String label = BenchFormat.format(value);
        g.drawString(label, x + width / 2 - g.getFontMetrics().stringWidth(label) / 2, top + BARS - h - 4);
    }

    private static int x(double seconds, int plotWidth, double axisSeconds) {
        return LEFT + (int) Math.round(plotWidth * Math.min(seconds, axisSeconds) / axisSeconds);
    }

    private static int y(double fraction, int top) {
        return top + STRIP - (int) Math.round(STRIP * Math.max(0, Math.min(1, fraction)));
    }

    /** 1, 2 or 5 times a power of ten, at least {@code value}. */
    private static double niceCeiling(double value) {
        double decade = Math.pow(10, Math.floor(Math.log10(value)));
        for (double m : new double[] {1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10}) {
            if (decade * m >= value) {
                return decade * m;
            }
        }
        return decade * 10;
    }

    private static double niceStep(double value) {
        double decade = Math.pow(10, Math.floor(Math.log10(value)));
        for (double m : new double[] {1, 2, 5, 10}) {
            if (decade * m >= value) {
                return decade * m;
            }
        }
        return decade * 10;
    }

    private static String trim(double v) {
        String text = String.format(Locale.ROOT, "%.2f", v);
        return text.replaceAll("0+$", "").replaceAll("\\.$", "");
    }
}
