package io.kvmesh.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** How the benchmark programs print and write their figures: numbers, CSV fields, percentiles, progress, load. */
final class BenchFormat {

    private BenchFormat() {
    }

    /** A CSV field, quoted when it holds a comma or a quote. */
    static String quote(String text) {
        return text.contains(",") || text.contains("\"") ? "\"" + text.replace("\"", "\"\"") + "\"" : text;
    }

    /** Three significant digits or so, thousands grouped, millions as "M". */
    static String format(double value) {
        double abs = Math.abs(value);
        if (abs >= 1e6) {
            return String.format(Locale.ROOT, "%.2f M", value / 1e6);
        } else if (abs >= 1000) {
            return String.format(Locale.ROOT, "%,.0f", value);
        } else if (abs >= 100) {
            return String.format(Locale.ROOT, "%.0f", value);
        } else if (abs >= 10) {
            return String.format(Locale.ROOT, "%.1f", value);
        } else {
            return String.format(Locale.ROOT, "%.2f", value);
        }
    }

    /** The 1, 5 and 15 minute load averages: other processes share these cores. */
    static String loadAverage() {
        try {
            String[] parts = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
            return parts[0] + " " + parts[1] + " " + parts[2];
        } catch (IOException | RuntimeException e) {
            return String.format(Locale.ROOT, "%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        }
    }

    static void progress(String line) {
        System.out.println("  .. " + line);
    }

    /** The {@code q} quantile of sorted values (nearest rank). */
    static long pct(long[] sorted, double q) {
        if (sorted.length == 0) {
            return 0;
        }
        return sorted[Math.min(sorted.length - 1, (int) (q * sorted.length))];
    }
}
