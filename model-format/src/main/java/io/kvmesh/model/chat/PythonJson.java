package io.kvmesh.model.chat;

import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.hubspot.jinjava.objects.SafeString;

/**
 * {@code json.dumps(value, ensure_ascii=False, indent=…, sort_keys=…)} as transformers' {@code tojson} filter writes
 * it: {@code ", "} and {@code ": "} separators without indent, {@code ","} and {@code ": "} with one, non-ASCII
 * characters as they are.
 */
final class PythonJson {

    private PythonJson() {
    }

    static String dumps(Object value, Integer indent, boolean sortKeys) {
        StringBuilder out = new StringBuilder();
        write(out, value, indent, sortKeys, 0);
        return out.toString();
    }

    private static void write(StringBuilder out, Object value, Integer indent, boolean sortKeys, int depth) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof Boolean b) {
            out.append(b ? "true" : "false");
        } else if (value instanceof Byte || value instanceof Short || value instanceof Integer || value instanceof Long
                || value instanceof BigInteger) {
            out.append(value);
        } else if (value instanceof Number number) {
            out.append(floatRepr(number.doubleValue()));
        } else if (value instanceof CharSequence || value instanceof SafeString || value instanceof Character) {
            string(out, value.toString());
        } else if (value instanceof Map<?, ?> map) {
            Map<?, ?> entries = sortKeys ? new TreeMap<>(map) : map;
            if (entries.isEmpty()) {
                out.append("{}");
                return;
            }
            out.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> entry : entries.entrySet()) {
                separator(out, first, indent, depth + 1);
                first = false;
                string(out, String.valueOf(entry.getKey()));
                out.append(": ");
                write(out, entry.getValue(), indent, sortKeys, depth + 1);
            }
            close(out, indent, depth);
            out.append('}');
        } else if (value instanceof Collection<?> || value.getClass().isArray()) {
            List<Object> items = new ArrayList<>();
            if (value instanceof Collection<?> collection) {
                items.addAll(collection);
            } else {
                for (int i = 0; i < Array.getLength(value); i++) {
                    items.add(Array.get(value, i));
                }
            }
            if (items.isEmpty()) {
                out.append("[]");
                return;
            }
            out.append('[');
            boolean first = true;
            for (Object item : items) {
                separator(out, first, indent, depth + 1);
                first = false;
                write(out, item, indent, sortKeys, depth + 1);
            }
            close(out, indent, depth);
            out.append(']');
        } else {
            string(out, value.toString());
        }
    }

    private static void separator(StringBuilder out, boolean first, Integer indent, int depth) {
        if (indent == null) {
            if (!first) {
                out.append(", ");
            }
            return;
        }
        if (!first) {
            out.append(',');
        }
        out.append('\n').append(" ".repeat(indent * depth));
    }

    private static void close(StringBuilder out, Integer indent, int depth) {
        if (indent != null) {
            out.append('\n').append(" ".repeat(indent * depth));
        }
    }

    private static void string(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    /** Python's {@code repr(float)}: shortest round-trip digits, {@code .0} on whole numbers. */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == Math.rint(d) && Math.abs(d) < 1e16) {
            return new BigDecimal(d).toBigInteger() + ".0";
        }
        String java = Double.toString(d);
        int e = java.indexOf('E');
        if (e < 0) {
            return java;
        }
        int exponent = Integer.parseInt(java.substring(e + 1));
        if (exponent >= -4 && exponent < 16) {
            return new BigDecimal(java).toPlainString();
        }
        String mantissa = java.substring(0, e);
        if (mantissa.endsWith(".0")) {
            mantissa = mantissa.substring(0, mantissa.length() - 2);
        }
        return mantissa + "e" + (exponent < 0 ? "-" : "+") + String.format("%02d", Math.abs(exponent));
    }
}
