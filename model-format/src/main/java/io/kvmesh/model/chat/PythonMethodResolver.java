package io.kvmesh.model.chat;

import java.beans.FeatureDescriptor;
import java.util.Collection;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;

import com.hubspot.jinjava.el.ext.NamedParameter;
import com.hubspot.jinjava.objects.SafeString;

import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Python's {@code str} methods on strings ({@code content.strip()}, {@code role.title()},
 * {@code text.split('</think>')[-1]}, {@code s.startswith('<')}, …), which Jinjava, evaluating Java objects, does not
 * have, and indexing a string ({@code role[0]}). Placed before Jinjava's own resolvers; anything else falls through
 * to them.
 */
final class PythonMethodResolver extends ELResolver {

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof String || base instanceof SafeString) || !(method instanceof String name)) {
            return null;
        }
        String s = base.toString();
        Object[] args = params == null ? new Object[0] : params;
        Object result = switch (name) {
            case "strip" -> PythonStrings.strip(s, text(args, 0, "chars"), true, true);
            case "lstrip" -> PythonStrings.strip(s, text(args, 0, "chars"), true, false);
            case "rstrip" -> PythonStrings.strip(s, text(args, 0, "chars"), false, true);
            case "split" -> PythonStrings.split(s, text(args, 0, "sep"), number(args, 1, "maxsplit", -1));
            case "rsplit" -> PythonStrings.rsplit(s, text(args, 0, "sep"), number(args, 1, "maxsplit", -1));
            case "splitlines" -> PythonStrings.splitLines(s);
            case "startswith" -> PythonStrings.matchesAny(s, argument(args, 0, "prefix"), true);
            case "endswith" -> PythonStrings.matchesAny(s, argument(args, 0, "suffix"), false);
            case "upper" -> s.toUpperCase(Locale.ROOT);
            case "lower" -> s.toLowerCase(Locale.ROOT);
            case "title" -> PythonStrings.title(s);
            case "capitalize" -> PythonStrings.capitalize(s);
            case "replace" -> PythonStrings.replace(s, text(args, 0, "old"), text(args, 1, "new"), number(args, 2, "count", -1));
            case "find" -> s.indexOf(text(args, 0, "sub"));
            case "rfind" -> s.lastIndexOf(text(args, 0, "sub"));
            case "count" -> PythonStrings.count(s, text(args, 0, "sub"));
            case "removeprefix" -> s.startsWith(text(args, 0, "prefix")) ? s.substring(text(args, 0, "prefix").length()) : s;
            case "removesuffix" -> s.endsWith(text(args, 0, "suffix"))
                    ? s.substring(0, s.length() - text(args, 0, "suffix").length()) : s;
            case "join" -> join(s, argument(args, 0, "iterable"));
            case "isdigit" -> !s.isEmpty() && s.codePoints().allMatch(Character::isDigit);
            case "isalpha" -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetter);
            case "isspace" -> !s.isEmpty() && s.codePoints().allMatch(PythonStrings::isSpace);
            case "islower" -> s.codePoints().anyMatch(Character::isLowerCase) && s.equals(s.toLowerCase(Locale.ROOT));
            case "isupper" -> s.codePoints().anyMatch(Character::isUpperCase) && s.equals(s.toUpperCase(Locale.ROOT));
            default -> NOT_HANDLED;
        };
        if (result == NOT_HANDLED) {
            return null;
        }
        context.setPropertyResolved(true);
        return result;
    }

    private static final Object NOT_HANDLED = new Object();

    private static Object argument(Object[] args, int position, String name) {
        for (Object arg : args) {
            if (arg instanceof NamedParameter named && named.getName().equals(name)) {
                return named.getValue();
            }
        }
        return position < args.length && !(args[position] instanceof NamedParameter) ? args[position] : null;
    }

    private static String text(Object[] args, int position, String name) {
        Object value = argument(args, position, name);
        return value == null ? null : value.toString();
    }

    private static int number(Object[] args, int position, String name, int fallback) {
        Object value = argument(args, position, name);
        return value instanceof Number n ? n.intValue() : fallback;
    }

    private static String join(String separator, Object items) {
        StringJoiner joined = new StringJoiner(separator);
        Iterable<?> iterable = items instanceof Map<?, ?> map ? map.keySet()
                : items instanceof Collection<?> collection ? collection : java.util.List.of(String.valueOf(items));
        for (Object item : iterable) {
            joined.add(String.valueOf(item));
        }
        return joined.toString();
    }

    /** {@code s[i]} on a string, negative {@code i} counting from the end; other properties go to Jinjava. */
    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        if (!(base instanceof String || base instanceof SafeString) || property == null) {
            return null;
        }
        int index;
        try {
            index = property instanceof Number n ? n.intValue() : Integer.parseInt(property.toString());
        } catch (NumberFormatException notAnIndex) {
            return null;
        }
        String s = base.toString();
        int at = index < 0 ? index + s.length() : index;
        context.setPropertyResolved(true);
        return at >= 0 && at < s.length() ? String.valueOf(s.charAt(at)) : null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
