package io.kvmesh.model.chat;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * The Python {@code str} behaviour chat templates rely on ({@code .strip()}, {@code .split()}, {@code .startswith()},
 * the {@code trim} filter, {@code title}, …), with Python's whitespace and index rules, so a template renders here
 * what {@code transformers} renders.
 */
final class PythonStrings {

    private PythonStrings() {
    }

    /** Python's {@code str.isspace()} for one character. */
    static boolean isSpace(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == 0x85;
    }

    static String strip(String s, String chars, boolean left, boolean right) {
        int start = 0;
        int end = s.length();
        if (left) {
            while (start < end && stripped(s.charAt(start), chars)) {
                start++;
            }
        }
        if (right) {
            while (end > start && stripped(s.charAt(end - 1), chars)) {
                end--;
            }
        }
        return s.substring(start, end);
    }

    private static boolean stripped(char c, String chars) {
        return chars == null ? isSpace(c) : chars.indexOf(c) >= 0;
    }

    /** {@code str.split(sep, maxsplit)}; a null separator splits on runs of whitespace and drops empty parts. */
    static List<String> split(String s, String sep, int maxSplit) {
        List<String> parts = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && isSpace(s.charAt(i))) {
                    i++;
                }
                if (i >= n) {
                    return parts;
                }
                if (maxSplit >= 0 && parts.size() == maxSplit) {
                    parts.add(strip(s.substring(i), null, false, true));
                    return parts;
                }
                int start = i;
                while (i < n && !isSpace(s.charAt(i))) {
                    i++;
                }
                parts.add(s.substring(start, i));
            }
        }
        if (sep.isEmpty()) {
            throw new IllegalArgumentException("empty separator");
        }
        int from = 0;
        for (int at = s.indexOf(sep); at >= 0 && (maxSplit < 0 || parts.size() < maxSplit); at = s.indexOf(sep, from)) {
            parts.add(s.substring(from, at));
            from = at + sep.length();
        }
        parts.add(s.substring(from));
        return parts;
    }

    /** {@code str.rsplit(sep, maxsplit)}. */
    static List<String> rsplit(String s, String sep, int maxSplit) {
        if (maxSplit < 0) {
            return split(s, sep, -1);
        }
        List<String> reversed = split(new StringBuilder(s).reverse().toString(),
                sep == null ? null : new StringBuilder(sep).reverse().toString(), maxSplit);
        List<String> parts = new ArrayList<>(reversed.size());
        for (int i = reversed.size() - 1; i >= 0; i--) {
            parts.add(new StringBuilder(reversed.get(i)).reverse().toString());
        }
        return parts;
    }

    /** {@code str.splitlines()}: lines without their line breaks; a final line break ends the last line. */
    static List<String> splitLines(String s) {
        List<String> lines = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ("\n\r\u000b\f\u001c\u001d\u001e\u0085\u2028\u2029".indexOf(c) >= 0) {
                lines.add(s.substring(start, i));
                if (c == '\r' && i + 1 < s.length() && s.charAt(i + 1) == '\n') {
                    i++;
                }
                start = i + 1;
            }
        }
        if (start < s.length()) {
            lines.add(s.substring(start));
        }
        return lines;
    }

    /** {@code str.title()}: the first letter of every run of letters upper case, the rest lower case. */
    static String title(String s) {
        StringBuilder out = new StringBuilder(s.length());
        boolean previousCased = false;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            i += Character.charCount(c);
            boolean cased = Character.isLetter(c);
            out.appendCodePoint(cased ? (previousCased ? Character.toLowerCase(c) : Character.toTitleCase(c)) : c);
            previousCased = cased;
        }
        return out.toString();
    }

    /** {@code str.capitalize()}: first character upper case, the rest lower case. */
    static String capitalize(String s) {
        if (s.isEmpty()) {
            return s;
        }
        int first = s.codePointAt(0);
        return new StringBuilder().appendCodePoint(Character.toTitleCase(first))
                .append(s.substring(Character.charCount(first)).toLowerCase(Locale.ROOT)).toString();
    }

    /** {@code str.replace(old, new, count)}. */
    static String replace(String s, String old, String replacement, int count) {
        if (count < 0) {
            return s.replace(old, replacement);
        }
        StringBuilder out = new StringBuilder();
        int from = 0;
        for (int done = 0; done < count; done++) {
            int at = s.indexOf(old, from);
            if (at < 0) {
                break;
            }
            out.append(s, from, at).append(replacement);
            from = at + old.length();
            if (old.isEmpty()) {
                if (from >= s.length()) {
                    break;
                }
                out.append(s.charAt(from));
                from++;
            }
        }
        return out.append(s.substring(Math.min(from, s.length()))).toString();
    }

    /** The prefix (or any of a tuple of prefixes) test of {@code startswith} / {@code endswith}. */
    static boolean matchesAny(String s, Object affixes, boolean prefix) {
        if (affixes instanceof Collection<?> options) {
            for (Object option : options) {
                if (matchesAny(s, option, prefix)) {
                    return true;
                }
            }
            return false;
        }
        String affix = String.valueOf(affixes);
        return prefix ? s.startsWith(affix) : s.endsWith(affix);
    }

    static int count(String s, String sub) {
        if (sub.isEmpty()) {
            return s.length() + 1;
        }
        int count = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
            count++;
        }
        return count;
    }
}
