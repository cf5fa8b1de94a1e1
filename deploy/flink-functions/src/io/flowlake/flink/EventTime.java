package io.flowlake.flink;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.functions.ScalarFunction;
import org.apache.flink.table.utils.DateTimeUtils;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.LocalDateTime;

/**
 * The event time of a raw payload, for the source's event-time column and watermark
 * (sql/flink/columns_event_time.sql). It returns what this SQL expression returns, for any bytes:
 *
 * <pre>
 *   TO_TIMESTAMP(REPLACE(REGEXP_EXTRACT(JSON_VALUE(CAST(payload AS STRING), '$.event_time'),
 *     '^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?)(Z|\+00:00)$', 1), 'T', ' '))
 * </pre>
 *
 * without its cost: Flink 1.20 compiles the regular expression on every call and JSON_VALUE reads the
 * whole payload into a map to return one field. Here one pass over the bytes checks that the payload
 * is JSON as Flink's Jackson reads it (its defaults: the first value counts, what follows it is not
 * read, no comments or other extensions; any depth of nesting) and keeps the last top-level
 * {@code event_time} member, and its time is matched by hand (java.util.regex, even precompiled, cost
 * more than all the rest). Null when the payload is not such an object, has no string
 * {@code event_time}, or the time is not UTC RFC 3339. The equivalence is tested against Flink's own
 * functions (tests/integration/test_event_time_function.py).
 */
public final class EventTime extends ScalarFunction {

    // The pattern the SQL expression applied (UTC_RFC3339 below), matched by hand in utcLocalTime:
    //   ^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?)(Z|\+00:00)$
    private static final byte[] NAME = "event_time".getBytes(StandardCharsets.US_ASCII);

    public @DataTypeHint("TIMESTAMP(3)") LocalDateTime eval(byte[] payload) {
        if (payload == null) {
            return null;
        }
        String text = new Member(payload).eventTime();
        String local = text == null ? null : utcLocalTime(text);
        return local == null ? null : timestamp(local);
    }

    /**
     * What REGEXP_EXTRACT(text, UTC_RFC3339, 1) returns, by hand (java.util.regex costs more than the
     * rest of this function): {@code find()} with {@code ^} at the start and, as Java's {@code $}
     * without MULTILINE, the end of the text or a line terminator that ends it.
     */
    static String utcLocalTime(String text) {
        int n = text.length();
        if (n < 20 || !digitsAt(text, 0, 4) || text.charAt(4) != '-' || !digitsAt(text, 5, 2)
                || text.charAt(7) != '-' || !digitsAt(text, 8, 2) || (text.charAt(10) != 'T' && text.charAt(10) != ' ')
                || !digitsAt(text, 11, 2) || text.charAt(13) != ':' || !digitsAt(text, 14, 2)
                || text.charAt(16) != ':' || !digitsAt(text, 17, 2)) {
            return null;
        }
        int end = 19;
        if (text.charAt(end) == '.') {
            int digits = 0;
            while (end + 1 + digits < n && digits < 10 && isDigit(text.charAt(end + 1 + digits))) {
                digits++;
            }
            if (digits < 1 || digits > 9) {
                return null;
            }
            end += 1 + digits;
        }
        int zone;
        if (end < n && text.charAt(end) == 'Z') {
            zone = 1;
        } else if (text.startsWith("+00:00", end)) {
            zone = 6;
        } else {
            return null;
        }
        return endsAt(text, end + zone) ? text.substring(0, end) : null;
    }

    /** Java's {@code $}: at the end, or before a final line terminator (\r\n counts as one). */
    private static boolean endsAt(String text, int at) {
        int rest = text.length() - at;
        if (rest == 0) {
            return true;
        }
        char c = text.charAt(at);
        if (rest == 1) {
            return c == '\n' || c == '\r' || c == '\u0085' || c == '\u2028' || c == '\u2029';
        }
        return rest == 2 && c == '\r' && text.charAt(at + 1) == '\n';
    }

    private static boolean digitsAt(String text, int from, int count) {
        for (int i = from; i < from + count; i++) {
            if (!isDigit(text.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    /** TO_TIMESTAMP of the matched local time: the common case computed directly, the rest by Flink. */
    static LocalDateTime timestamp(String time) {
        int year = digits(time, 0, 4);
        int month = digits(time, 5, 2);
        int day = digits(time, 8, 2);
        int hour = digits(time, 11, 2);
        int minute = digits(time, 14, 2);
        int second = digits(time, 17, 2);
        if (year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= 28 && hour <= 23 && minute <= 59
                && second <= 59) {
            int millis = 0;
            for (int i = 0; i < 3; i++) {
                millis = millis * 10 + (20 + i < time.length() ? time.charAt(20 + i) - '0' : 0);
            }
            return LocalDateTime.of(year, month, day, hour, minute, second, millis * 1_000_000);
        }
        // Days 29-31 (Flink's formatter moves an impossible one to the month's last day), year 0,
        // hours, minutes or seconds out of range: Flink's own parse decides.
        try {
            return DateTimeUtils.parseTimestampData(time.replace('T', ' ')).toLocalDateTime();
        } catch (DateTimeException e) {
            return null;
        }
    }

    private static int digits(String text, int from, int count) {
        int value = 0;
        for (int i = from; i < from + count; i++) {
            value = value * 10 + (text.charAt(i) - '0');
        }
        return value;
    }

    /** One pass over a JSON document, keeping its last top-level event_time member. */
    static final class Member {
        private static final Invalid INVALID = new Invalid();

        private static final int KEY = 0;
        private static final int VALUE = 1;
        private static final int AFTER = 2;

        private final byte[] bytes;
        private int at;
        private String found;

        Member(byte[] bytes) {
            this.bytes = bytes;
        }

        /** The member's string value; null when the document is invalid or not an object. */
        String eventTime() {
            try {
                skipWhitespace();
                return peek() == '{' ? document() : null;
            } catch (Invalid e) {
                return null;
            }
        }

        /**
         * Reads the root object up to its closing brace, without recursion (Flink's reader accepts
         * any depth: a payload nested 100,000 levels deep must not overflow the task's stack).
         */
        private String document() {
            byte[] open = new byte[16];  // the enclosing containers, '{' or '['
            int depth = 0;
            int state = VALUE;
            boolean ours = false;
            while (true) {
                if (state == KEY) {
                    if (peek() != '"') {
                        throw INVALID;
                    }
                    int keyStart = at;
                    boolean keyEscaped = string();
                    ours = depth == 1 && isKey(keyStart, at, keyEscaped);
                    skipWhitespace();
                    if (peek() != ':') {
                        throw INVALID;
                    }
                    at++;
                    skipWhitespace();
                    state = VALUE;
                    continue;
                }
                if (state == VALUE) {
                    byte c = peek();
                    if (ours && c != '"') {
                        found = null;  // a number, literal, object or array: never a time
                    }
                    if (c == '{' || c == '[') {
                        if (depth == open.length) {
                            open = java.util.Arrays.copyOf(open, depth * 2);
                        }
                        open[depth++] = c;
                        at++;
                        skipWhitespace();
                        if (peek() == (c == '{' ? '}' : ']')) {
                            at++;
                            depth--;
                        } else {
                            state = c == '{' ? KEY : VALUE;
                            ours = false;
                            continue;
                        }
                    } else if (c == '"') {
                        int valueStart = at;
                        boolean escaped = string();
                        if (ours) {
                            found = decode(valueStart + 1, at - 1, escaped);
                        }
                    } else {
                        switch (c) {
                            case 't' -> literal("true");
                            case 'f' -> literal("false");
                            case 'n' -> literal("null");
                            default -> number();
                        }
                    }
                    ours = false;
                }
                // After a value: the end of the document, or a comma or the end of its container.
                if (depth == 0) {
                    return found;
                }
                skipWhitespace();
                byte next = peek();
                at++;
                if (next == (open[depth - 1] == '{' ? '}' : ']')) {
                    depth--;
                    state = AFTER;
                } else if (next == ',') {
                    skipWhitespace();
                    state = open[depth - 1] == '{' ? KEY : VALUE;
                } else {
                    throw INVALID;
                }
            }
        }

        /** Moves past a string starting at the quote; says whether it holds escapes. */
        private boolean string() {
            boolean escaped = false;
            at++;
            while (true) {
                if (at >= bytes.length) {
                    throw INVALID;
                }
                int c = bytes[at] & 0xff;
                if (c == '"') {
                    at++;
                    return escaped;
                }
                if (c < 0x20) {
                    throw INVALID;
                }
                if (c == '\\') {
                    escaped = true;
                    at++;
                    if (at >= bytes.length) {
                        throw INVALID;
                    }
                    switch (bytes[at]) {
                        case '"', '\\', '/', 'b', 'f', 'n', 'r', 't' -> at++;
                        case 'u' -> {
                            for (int i = 1; i <= 4; i++) {
                                if (at + i >= bytes.length || hex(bytes[at + i]) < 0) {
                                    throw INVALID;
                                }
                            }
                            at += 5;
                        }
                        default -> throw INVALID;
                    }
                } else {
                    at++;
                }
            }
        }

        private void literal(String word) {
            for (int i = 0; i < word.length(); i++) {
                if (at >= bytes.length || bytes[at] != word.charAt(i)) {
                    throw INVALID;
                }
                at++;
            }
        }

        /** A number as Jackson accepts it: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? */
        private void number() {
            if (peek() == '-') {
                at++;
            }
            if (peek() == '0') {
                at++;
                if (isDigit(peek())) {
                    throw INVALID;  // leading zeros
                }
            } else if (!digitRun()) {
                throw INVALID;
            }
            if (peek() == '.') {
                at++;
                if (!digitRun()) {
                    throw INVALID;
                }
            }
            if (peek() == 'e' || peek() == 'E') {
                at++;
                if (peek() == '+' || peek() == '-') {
                    at++;
                }
                if (!digitRun()) {
                    throw INVALID;
                }
            }
        }

        private boolean digitRun() {
            int start = at;
            while (isDigit(peek())) {
                at++;
            }
            return at > start;
        }

        private void skipWhitespace() {
            while (at < bytes.length) {
                byte c = bytes[at];
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                    return;
                }
                at++;
            }
        }

        /** The byte at the cursor, or 0 past the end (never valid where a byte is expected). */
        private byte peek() {
            return at < bytes.length ? bytes[at] : 0;
        }

        private boolean isKey(int quote, int end, boolean escaped) {
            if (escaped) {
                return "event_time".equals(decode(quote + 1, end - 1, true));
            }
            if (end - quote - 2 != NAME.length) {
                return false;
            }
            for (int i = 0; i < NAME.length; i++) {
                if (bytes[quote + 1 + i] != NAME[i]) {
                    return false;
                }
            }
            return true;
        }

        /** The text of a string's content (bytes from..to, escapes already checked). */
        private String decode(int from, int to, boolean escaped) {
            if (!escaped) {
                return new String(bytes, from, to - from, StandardCharsets.UTF_8);
            }
            StringBuilder text = new StringBuilder(to - from);
            ByteArrayOutputStream run = new ByteArrayOutputStream();
            int i = from;
            while (i < to) {
                if (bytes[i] != '\\') {
                    run.write(bytes[i++]);
                    continue;
                }
                text.append(run.toString(StandardCharsets.UTF_8));
                run.reset();
                byte kind = bytes[i + 1];
                if (kind == 'u') {
                    int code = 0;
                    for (int k = 2; k < 6; k++) {
                        code = code * 16 + hex(bytes[i + k]);
                    }
                    text.append((char) code);
                    i += 6;
                } else {
                    text.append(switch (kind) {
                        case 'b' -> '\b';
                        case 'f' -> '\f';
                        case 'n' -> '\n';
                        case 'r' -> '\r';
                        case 't' -> '\t';
                        default -> (char) kind;  // " \ /
                    });
                    i += 2;
                }
            }
            return text.append(run.toString(StandardCharsets.UTF_8)).toString();
        }

        private static boolean isDigit(byte c) {
            return c >= '0' && c <= '9';
        }

        private static int hex(byte c) {
            if (c >= '0' && c <= '9') {
                return c - '0';
            }
            if (c >= 'a' && c <= 'f') {
                return c - 'a' + 10;
            }
            if (c >= 'A' && c <= 'F') {
                return c - 'A' + 10;
            }
            return -1;
        }
    }

    /** Thrown, without a stack trace, where the document stops being JSON. */
    private static final class Invalid extends RuntimeException {
        Invalid() {
            super(null, null, false, false);
        }
    }
}
