package io.kvmesh.model.chat;

import java.lang.reflect.Array;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import com.hubspot.jinjava.el.ExtendedSyntaxBuilder;
import com.hubspot.jinjava.el.TruthyTypeConverter;
import com.hubspot.jinjava.el.ext.AbsOperator;
import com.hubspot.jinjava.el.ext.AdditionOperator;
import com.hubspot.jinjava.el.ext.ExtendedScanner;
import com.hubspot.jinjava.el.ext.ExtendedParser;
import com.hubspot.jinjava.el.ext.NamedParameterOperator;
import com.hubspot.jinjava.objects.SafeString;

import jinjava.de.odysseus.el.ExpressionFactoryImpl;
import jinjava.de.odysseus.el.tree.Bindings;
import jinjava.de.odysseus.el.tree.TreeStore;
import jinjava.de.odysseus.el.tree.impl.Builder;
import jinjava.de.odysseus.el.tree.impl.Cache;
import jinjava.de.odysseus.el.tree.impl.Parser;
import jinjava.de.odysseus.el.tree.impl.Scanner;
import jinjava.de.odysseus.el.tree.impl.Scanner.ScanException;
import jinjava.de.odysseus.el.tree.impl.Scanner.Symbol;
import jinjava.de.odysseus.el.tree.impl.ast.AstBinary;
import jinjava.de.odysseus.el.tree.impl.ast.AstBracket;
import jinjava.de.odysseus.el.tree.impl.ast.AstDot;
import jinjava.de.odysseus.el.tree.impl.ast.AstIdentifier;
import jinjava.de.odysseus.el.tree.impl.ast.AstNode;
import jinjava.de.odysseus.el.tree.impl.ast.AstRightValue;
import jinjava.de.odysseus.el.tree.impl.ast.AstUnary;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELException;
import jinjava.javax.el.ExpressionFactory;

/**
 * Jinjava's expression parser with three of Python Jinja's rules it gets wrong, each used by real chat templates:
 * <ul>
 * <li>{@code not} binds looser than comparisons, tests and filters: {@code not add_generation_prompt is defined} is
 * {@code not (add_generation_prompt is defined)} (DeepSeek, dolphin), {@code not a == b} is {@code not (a == b)};</li>
 * <li>a keyword argument takes a whole expression: {@code namespace(last=messages|length - 1)} (Qwen 3);</li>
 * <li>subscripts are Python slices, with any expressions and a step: {@code messages[::-1]},
 * {@code messages[:ns.i + 1]}, negative indexes counting from the end.</li>
 * </ul>
 * Also {@code i+1} is an addition (Jinjava scans {@code +1} as a unary plus), string literals take Python's escapes,
 * and an unknown filter or test is an error (Jinjava silently yields nothing), so a template using one is not chosen.
 */
final class PythonExpressionParser extends ExtendedParser {

    PythonExpressionParser(Builder context, String input) {
        super(context, input);
    }

    /** The expression factory of a Jinjava instance that parses with this parser. */
    static ExpressionFactory expressionFactory() {
        Builder builder = new ExtendedSyntaxBuilder(Builder.Feature.METHOD_INVOCATIONS, Builder.Feature.VARARGS) {
            private static final long serialVersionUID = 1L;

            @Override
            protected Parser createParser(String expression) {
                return new PythonExpressionParser(this, expression);
            }
        };
        return new ExpressionFactoryImpl(new TreeStore(builder, new Cache(2000)), new TruthyTypeConverter());
    }

    /** {@code not} at Python's level: between {@code and} and the comparisons. */
    @Override
    protected AstNode eq(boolean required) throws ScanException, ParseException {
        if (getToken().getSymbol() == Symbol.NOT) {
            consumeToken();
            return createAstUnary(eq(true), AstUnary.NOT);
        }
        return super.eq(required);
    }

    /** {@code +}, {@code -}, {@code ~}; a keyword argument's value ({@code name=…}) is a whole expression. */
    @Override
    protected AstNode add(boolean required) throws ScanException, ParseException {
        AstNode v = mul(required);
        if (v == null) {
            return null;
        }
        while (true) {
            Scanner.Token token = getToken();
            switch (token.getSymbol()) {
                case PLUS -> {
                    consumeToken();
                    v = createAstBinary(v, mul(true), AdditionOperator.OP);
                }
                case MINUS -> {
                    consumeToken();
                    v = createAstBinary(v, mul(true), AstBinary.SUB);
                }
                case EXTENSION -> {
                    if (token == AbsOperator.TOKEN) {
                        // Jinjava scans "+1" as a unary plus; after an operand it is an addition ("i+1").
                        consumeToken();
                        v = createAstBinary(v, mul(true), AdditionOperator.OP);
                        continue;
                    }
                    ExtensionHandler handler = getExtensionHandler(token);
                    if (handler == null || handler.getExtensionPoint() != ExtensionPoint.ADD) {
                        return v;
                    }
                    consumeToken();
                    if (NamedParameterOperator.TOKEN.getImage().equals(token.getImage())) {
                        return handler.createAstNode(v, expr(true));
                    }
                    v = handler.createAstNode(v, mul(true));
                }
                default -> {
                    return v;
                }
            }
        }
    }

    /** Attribute access, calls and Python subscripts ({@code [i]}, {@code [a:b]}, {@code [a:b:step]}). */
    @Override
    protected AstNode value() throws ScanException, ParseException {
        boolean lvalue = true;
        AstNode v = nonliteral();
        if (v == null) {
            v = literal();
            if (v == null) {
                return null;
            }
            lvalue = false;
        }
        while (true) {
            switch (getToken().getSymbol()) {
                case DOT -> {
                    consumeToken();
                    AstDot dot = createAstDot(v, consumeToken(Symbol.IDENTIFIER).getImage(), lvalue);
                    v = getToken().getSymbol() == Symbol.LPAREN ? createAstMethod(dot, params()) : dot;
                }
                case LBRACK -> {
                    consumeToken();
                    AstNode start = getToken().getSymbol() == Symbol.COLON ? null : expr(true);
                    if (getToken().getSymbol() == Symbol.RBRACK) {
                        consumeToken();
                        AstBracket bracket = createAstBracket(v, start, lvalue, true);
                        v = getToken().getSymbol() == Symbol.LPAREN ? createAstMethod(bracket, params()) : bracket;
                        continue;
                    }
                    consumeToken(Symbol.COLON);
                    AstNode stop = endOfSlicePart() ? null : expr(true);
                    AstNode step = null;
                    if (getToken().getSymbol() == Symbol.COLON) {
                        consumeToken();
                        step = endOfSlicePart() ? null : expr(true);
                    }
                    consumeToken(Symbol.RBRACK);
                    v = new AstSlice(v, start, stop, step);
                }
                default -> {
                    return v;
                }
            }
        }
    }

    @Override
    protected AstIdentifier createAstIdentifier(String name, int index) {
        if (name.startsWith(FILTER_PREFIX) || name.startsWith(EXPTEST_PREFIX)) {
            return new LibraryIdentifier(name, index);
        }
        return super.createAstIdentifier(name, index);
    }

    /** A filter or test name: naming one Jinjava does not have fails the expression. */
    static final class LibraryIdentifier extends AstIdentifier {
        LibraryIdentifier(String name, int index) {
            super(name, index);
        }

        @Override
        public Object eval(Bindings bindings, ELContext context) {
            Object value = super.eval(bindings, context);
            if (value == null) {
                String name = getName();
                throw new ELException(name.startsWith(FILTER_PREFIX)
                        ? "no filter named '" + name.substring(FILTER_PREFIX.length()) + "'"
                        : "no test named '" + name.substring(EXPTEST_PREFIX.length()) + "'");
            }
            return value;
        }
    }

    @Override
    protected Scanner createScanner(String expression) {
        return new PythonScanner(expression);
    }

    private boolean endOfSlicePart() {
        Symbol symbol = getToken().getSymbol();
        return symbol == Symbol.COLON || symbol == Symbol.RBRACK;
    }

    /**
     * String literals with Python's escapes ({@code unicode-escape}, as Jinja decodes them): {@code \\n}, {@code \\t},
     * {@code \\xhh}, {@code \\uXXXX}, {@code \\UXXXXXXXX}, {@code \\N{name}}, octal, a backslash-newline continuation;
     * an unknown escape stays as written (Jinjava refuses those).
     */
    static final class PythonScanner extends ExtendedScanner {
        PythonScanner(String input) {
            super(input);
        }

        @Override
        protected Scanner.Token nextString() throws ScanException {
            String input = getInput();
            int start = getPosition();
            char quote = input.charAt(start);
            StringBuilder out = new StringBuilder();
            int i = start + 1;
            while (i < input.length()) {
                char c = input.charAt(i++);
                if (c == quote) {
                    return token(Symbol.STRING, out.toString(), i - start);
                }
                if (c != '\\') {
                    out.append(c);
                    continue;
                }
                if (i >= input.length()) {
                    break;
                }
                char e = input.charAt(i++);
                switch (e) {
                    case '\n' -> {
                    }
                    case '\\', '\'', '"' -> out.append(e);
                    case 'a' -> out.append('\u0007');
                    case 'b' -> out.append('\b');
                    case 'f' -> out.append('\f');
                    case 'n' -> out.append('\n');
                    case 'r' -> out.append('\r');
                    case 't' -> out.append('\t');
                    case 'v' -> out.append('\u000b');
                    case 'x', 'u', 'U' -> {
                        int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                        if (i + digits > input.length()) {
                            throw new ScanException(start, "truncated \\" + e + " escape", digits + " hex digits");
                        }
                        try {
                            out.appendCodePoint(Integer.parseInt(input.substring(i, i + digits), 16));
                        } catch (IllegalArgumentException bad) {
                            throw new ScanException(start, "bad \\" + e + " escape", digits + " hex digits");
                        }
                        i += digits;
                    }
                    case 'N' -> {
                        int close = input.indexOf('}', i);
                        if (i >= input.length() || input.charAt(i) != '{' || close < 0) {
                            throw new ScanException(start, "malformed \\N escape", "\\N{name}");
                        }
                        try {
                            out.appendCodePoint(Character.codePointOf(input.substring(i + 1, close)));
                        } catch (IllegalArgumentException unknown) {
                            throw new ScanException(start, "unknown character name in \\N escape", "a Unicode name");
                        }
                        i = close + 1;
                    }
                    default -> {
                        if (e >= '0' && e <= '7') {
                            int end = i - 1;
                            while (end < input.length() && end < i + 2 && input.charAt(end) >= '0' && input.charAt(end) <= '7') {
                                end++;
                            }
                            out.append((char) Integer.parseInt(input.substring(i - 1, end), 8));
                            i = end;
                        } else {
                            out.append('\\').append(e);
                        }
                    }
                }
            }
            throw new ScanException(start, "unterminated string", String.valueOf(quote));
        }
    }

    /** {@code base[start:stop:step]} on a list, tuple or string, with Python's bounds and negative indexes. */
    static final class AstSlice extends AstRightValue {
        private final AstNode base;
        private final AstNode start;
        private final AstNode stop;
        private final AstNode step;

        AstSlice(AstNode base, AstNode start, AstNode stop, AstNode step) {
            this.base = base;
            this.start = start;
            this.stop = stop;
            this.step = step;
        }

        @Override
        public Object eval(Bindings bindings, ELContext context) {
            Object value = base.eval(bindings, context);
            if (value == null) {
                return null;
            }
            boolean text = value instanceof CharSequence || value instanceof SafeString;
            List<Object> items = new ArrayList<>();
            String string = null;
            if (text) {
                string = value.toString();
            } else if (value instanceof Collection<?> collection) {
                items.addAll(collection);
            } else if (value.getClass().isArray()) {
                for (int i = 0; i < Array.getLength(value); i++) {
                    items.add(Array.get(value, i));
                }
            } else {
                throw new ELException("cannot slice a " + value.getClass().getSimpleName());
            }
            int length = text ? string.length() : items.size();
            int by = index(step, bindings, context, 1);
            if (by == 0) {
                throw new ELException("slice step cannot be zero");
            }
            int from = bound(index(start, bindings, context, by > 0 ? 0 : length - 1), length, by, start == null);
            int to = bound(index(stop, bindings, context, by > 0 ? length : -1), length, by, stop == null);
            StringBuilder chars = new StringBuilder();
            List<Object> result = new ArrayList<>();
            for (int i = from; by > 0 ? i < to : i > to; i += by) {
                if (text) {
                    chars.append(string.charAt(i));
                } else {
                    result.add(items.get(i));
                }
            }
            return text ? chars.toString() : result;
        }

        private static int index(AstNode node, Bindings bindings, ELContext context, int fallback) {
            if (node == null) {
                return fallback;
            }
            Object value = node.eval(bindings, context);
            if (value == null) {
                return fallback;
            }
            if (value instanceof Number number) {
                return number.intValue();
            }
            throw new ELException("slice indices must be integers, got " + value);
        }

        /** Python's PySlice_AdjustIndices for one bound. */
        private static int bound(int index, int length, int step, boolean omitted) {
            if (omitted) {
                return index;
            }
            if (index < 0) {
                index += length;
                if (index < 0) {
                    return step < 0 ? -1 : 0;
                }
            } else if (index >= length) {
                return step < 0 ? length - 1 : length;
            }
            return index;
        }

        @Override
        public void appendStructure(StringBuilder b, Bindings bindings) {
            base.appendStructure(b, bindings);
            b.append('[');
            if (start != null) {
                start.appendStructure(b, bindings);
            }
            b.append(':');
            if (stop != null) {
                stop.appendStructure(b, bindings);
            }
            if (step != null) {
                b.append(':');
                step.appendStructure(b, bindings);
            }
            b.append(']');
        }

        @Override
        public int getCardinality() {
            return 4;
        }

        @Override
        public AstNode getChild(int i) {
            return switch (i) {
                case 0 -> base;
                case 1 -> start;
                case 2 -> stop;
                case 3 -> step;
                default -> null;
            };
        }

        @Override
        public String toString() {
            return "[:]";
        }
    }
}
