/* The KPI anomaly pipeline's event codec in C: a whole batch of cell-KPI events decoded into
 * columns, and a whole batch of score records encoded from columns, each in one call.
 * pipelines/kpi_anomaly/codec.py holds the Python reference of both, and the contract.
 *
 * The decoder is a fast path, not a second validator: it accepts only events it can read
 * completely (plain ASCII, no escapes, no duplicate fields, a canonical timestamp, the expected
 * schema and region) and answers "not mine" for everything else, which then takes the
 * reference path and its error messages. Plain C99, no NumPy headers: arrays come in through
 * the buffer protocol.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#define MAX_EVENT_BYTES 1048576
#define MAX_DEPTH 64
#define MAX_COUNTERS 64

/* ---- SHA-1 (FIPS 180-4), for name-based UUIDs (RFC 4122 version 5) ---- */

typedef struct {
    uint32_t state[5];
    uint8_t block[64];
    size_t used;
    uint64_t length;
} Sha1;

static inline uint32_t rotl(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1_compress(uint32_t state[5], const uint8_t block[64])
{
    uint32_t w[16];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)block[4 * t] << 24 | (uint32_t)block[4 * t + 1] << 16 |
               (uint32_t)block[4 * t + 2] << 8 | (uint32_t)block[4 * t + 3];
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3], e = state[4];
    /* Round t of 80 with the round function f and constant k; the schedule is kept as the last
     * 16 words, updated in place from round 16 on. The five variables rotate by renaming. */
#define W(t) (w[(t) & 15] = rotl(w[((t) + 13) & 15] ^ w[((t) + 8) & 15] ^ w[((t) + 2) & 15] ^ w[(t) & 15], 1))
#define CH(b, c, d) ((d) ^ ((b) & ((c) ^ (d))))
#define PARITY(b, c, d) ((b) ^ (c) ^ (d))
#define MAJ(b, c, d) (((b) & (c)) | ((d) & ((b) | (c))))
#define ROUND(a, b, c, d, e, f, k, x)                                                          \
    do {                                                                                       \
        e += rotl(a, 5) + f(b, c, d) + (k) + (x);                                              \
        b = rotl(b, 30);                                                                       \
    } while (0)
#define FIVE(t, f, k, x)                                                                       \
    ROUND(a, b, c, d, e, f, k, x(t));                                                          \
    ROUND(e, a, b, c, d, f, k, x(t + 1));                                                      \
    ROUND(d, e, a, b, c, f, k, x(t + 2));                                                      \
    ROUND(c, d, e, a, b, f, k, x(t + 3));                                                      \
    ROUND(b, c, d, e, a, f, k, x(t + 4))
#define W0(t) w[t]
    FIVE(0, CH, 0x5A827999u, W0);
    FIVE(5, CH, 0x5A827999u, W0);
    FIVE(10, CH, 0x5A827999u, W0);
    ROUND(a, b, c, d, e, CH, 0x5A827999u, w[15]);
    ROUND(e, a, b, c, d, CH, 0x5A827999u, W(16));
    ROUND(d, e, a, b, c, CH, 0x5A827999u, W(17));
    ROUND(c, d, e, a, b, CH, 0x5A827999u, W(18));
    ROUND(b, c, d, e, a, CH, 0x5A827999u, W(19));
    FIVE(20, PARITY, 0x6ED9EBA1u, W);
    FIVE(25, PARITY, 0x6ED9EBA1u, W);
    FIVE(30, PARITY, 0x6ED9EBA1u, W);
    FIVE(35, PARITY, 0x6ED9EBA1u, W);
    FIVE(40, MAJ, 0x8F1BBCDCu, W);
    FIVE(45, MAJ, 0x8F1BBCDCu, W);
    FIVE(50, MAJ, 0x8F1BBCDCu, W);
    FIVE(55, MAJ, 0x8F1BBCDCu, W);
    FIVE(60, PARITY, 0xCA62C1D6u, W);
    FIVE(65, PARITY, 0xCA62C1D6u, W);
    FIVE(70, PARITY, 0xCA62C1D6u, W);
    FIVE(75, PARITY, 0xCA62C1D6u, W);
#undef W
#undef W0
#undef CH
#undef PARITY
#undef MAJ
#undef ROUND
#undef FIVE
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
}

static void sha1_init(Sha1 *h)
{
    const uint32_t initial[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u,
                                 0xC3D2E1F0u};
    memcpy(h->state, initial, sizeof initial);
    h->used = 0;
    h->length = 0;
}

static void sha1_update(Sha1 *h, const uint8_t *data, size_t n)
{
    h->length += n;
    while (n > 0) {
        size_t take = 64 - h->used < n ? 64 - h->used : n;
        memcpy(h->block + h->used, data, take);
        h->used += take;
        data += take;
        n -= take;
        if (h->used == 64) {
            sha1_compress(h->state, h->block);
            h->used = 0;
        }
    }
}

static void sha1_final(Sha1 *h, uint8_t digest[20])
{
    const uint64_t bits = h->length * 8;
    /* 0x80, zeros up to 56 bytes into a block, then the length in bits, big-endian. */
    h->block[h->used++] = 0x80;
    if (h->used > 56) {
        memset(h->block + h->used, 0, 64 - h->used);
        sha1_compress(h->state, h->block);
        h->used = 0;
    }
    memset(h->block + h->used, 0, 56 - h->used);
    for (int i = 0; i < 8; i++)
        h->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    sha1_compress(h->state, h->block);
    for (int i = 0; i < 5; i++) {
        digest[4 * i] = (uint8_t)(h->state[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(h->state[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(h->state[i] >> 8);
        digest[4 * i + 3] = (uint8_t)h->state[i];
    }
}

/* The 36 characters of uuid5(namespace, prefix + name) into `out`. */
static void uuid5_text(const uint8_t namespace[16], const char *prefix, size_t prefix_len,
                       const char *name, size_t name_len, char out[36])
{
    static const char hex[] = "0123456789abcdef";
    Sha1 h;
    uint8_t digest[20];
    sha1_init(&h);
    sha1_update(&h, namespace, 16);
    sha1_update(&h, (const uint8_t *)prefix, prefix_len);
    sha1_update(&h, (const uint8_t *)name, name_len);
    sha1_final(&h, digest);
    digest[6] = (uint8_t)((digest[6] & 0x0F) | 0x50);
    digest[8] = (uint8_t)((digest[8] & 0x3F) | 0x80);
    int o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[digest[i] >> 4];
        out[o++] = hex[digest[i] & 0x0F];
    }
}

/* ---- a JSON reader for the fast path: 1 = read, 0 = not for the fast path ---- */

typedef struct {
    const char *p;
    const char *end;
    int depth;
} Cursor;

typedef struct {
    const char *start;
    Py_ssize_t len;
} Span;

static void skip_space(Cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int take(Cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A string of printable ASCII without escapes: the only kind the fast path reads. */
static int read_string(Cursor *c, Span *out)
{
    skip_space(c);
    if (c->p >= c->end || *c->p != '"')
        return 0;
    const char *start = ++c->p;
    while (c->p < c->end) {
        const unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') {
            out->start = start;
            out->len = c->p - start;
            c->p++;
            return 1;
        }
        if (ch == '\\' || ch < 0x20 || ch >= 0x80)
            return 0;
        c->p++;
    }
    return 0;
}

static int is_digit(char ch) { return ch >= '0' && ch <= '9'; }

/* A number by the RFC 8259 grammar; `integral` when it has no fraction and no exponent. */
static int read_number(Cursor *c, Span *out, int *integral)
{
    skip_space(c);
    const char *s = c->p, *p = c->p, *end = c->end;
    *integral = 1;
    if (p < end && *p == '-')
        p++;
    if (p >= end || !is_digit(*p))
        return 0;
    if (*p == '0')
        p++;
    else
        while (p < end && is_digit(*p))
            p++;
    if (p < end && *p == '.') {
        *integral = 0;
        p++;
        if (p >= end || !is_digit(*p))
            return 0;
        while (p < end && is_digit(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        *integral = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !is_digit(*p))
            return 0;
        while (p < end && is_digit(*p))
            p++;
    }
    out->start = s;
    out->len = p - s;
    c->p = p;
    return 1;
}

static int read_literal(Cursor *c, const char *word, size_t n)
{
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, word, n) == 0) {
        c->p += n;
        return 1;
    }
    return 0;
}

static const double POWERS_OF_TEN[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The double nearest to a JSON number's decimal value, as Python's float() gives it (an integer
 * -0 is 0.0, as it is once orjson has read it as an int). Up to 15 significant digits and 22
 * decimals without an exponent convert exactly with one correctly rounded division; the rest go
 * to Python's own correctly rounded conversion. 0 for an infinite value (orjson refuses those). */
static int number_value(const Span *s, int integral, double *out)
{
    const char *p = s->start, *end = s->start + s->len;
    const int negative = *p == '-';
    int significant = 0, decimals = 0, in_fraction = 0;
    uint64_t mantissa = 0;
    if (negative)
        p++;
    for (; p < end && significant <= 15; p++) {
        if (*p == '.') {
            in_fraction = 1;
            continue;
        }
        if (*p == 'e' || *p == 'E')
            break;
        mantissa = mantissa * 10 + (uint64_t)(*p - '0');
        significant += mantissa != 0;
        decimals += in_fraction;
    }
    if (p == end && significant <= 15 && decimals <= 22) {
        double value = (double)mantissa;
        if (decimals > 0)
            value /= POWERS_OF_TEN[decimals];
        *out = negative && !(integral && mantissa == 0) ? -value : value;
        return 1;
    }
    char buffer[64];
    char *text = buffer, *stop = NULL;
    if (s->len >= (Py_ssize_t)sizeof buffer) {
        text = PyMem_Malloc((size_t)s->len + 1);
        if (text == NULL) {
            PyErr_Clear();
            return 0;
        }
    }
    memcpy(text, s->start, (size_t)s->len);
    text[s->len] = '\0';
    double value = PyOS_string_to_double(text, &stop, NULL);
    const int whole = stop == text + s->len;
    if (text != buffer)
        PyMem_Free(text);
    if (value == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (!whole || isinf(value))
        return 0;
    if (integral && value == 0.0)
        value = 0.0;
    *out = value;
    return 1;
}

/* A number outside the known counters: read only to check it is finite (orjson refuses
 * 1e999, and integers too long for a double). */
static int finite_number(Cursor *c)
{
    Span number;
    int integral;
    double ignored;
    if (!read_number(c, &number, &integral))
        return 0;
    return (integral && number.len <= 300) || number_value(&number, integral, &ignored);
}

static int skip_value(Cursor *c);

static int skip_container(Cursor *c, char close, int keyed)
{
    if (++c->depth > MAX_DEPTH)
        return 0;
    if (take(c, close)) {
        c->depth--;
        return 1;
    }
    for (;;) {
        Span key;
        if (keyed && !(read_string(c, &key) && take(c, ':')))
            return 0;
        if (!skip_value(c))
            return 0;
        if (take(c, ','))
            continue;
        if (take(c, close)) {
            c->depth--;
            return 1;
        }
        return 0;
    }
}

static int skip_value(Cursor *c)
{
    skip_space(c);
    if (c->p >= c->end)
        return 0;
    Span span;
    switch (*c->p) {
    case '"':
        return read_string(c, &span);
    case '{':
        c->p++;
        return skip_container(c, '}', 1);
    case '[':
        c->p++;
        return skip_container(c, ']', 0);
    case 't':
        return read_literal(c, "true", 4);
    case 'f':
        return read_literal(c, "false", 5);
    case 'n':
        return read_literal(c, "null", 4);
    default:
        return finite_number(c);
    }
}

/* ---- cell-KPI events ---- */

enum { F_SCHEMA, F_EVENT_ID, F_REGION, F_SITE_ID, F_TS, F_CELL_ID, N_TEXT_FIELDS };
static const char *const TEXT_FIELDS[N_TEXT_FIELDS] = {"schema",  "event_id", "region",
                                                       "site_id", "ts",       "cell_id"};
static const size_t TEXT_FIELD_LENGTHS[N_TEXT_FIELDS] = {6, 8, 6, 7, 2, 7};

typedef struct {
    Span schema, region;
    Span counters[MAX_COUNTERS];
    Py_ssize_t n_counters;
} Expected;

typedef struct {
    Span text[N_TEXT_FIELDS];
    double *counters;
    int64_t minute_of_day;
} CellKpi;

static int span_is(const Span *s, const char *text, size_t n)
{
    return (size_t)s->len == n && memcmp(s->start, text, n) == 0;
}

static int span_equal(const Span *a, const Span *b)
{
    return a->len == b->len && memcmp(a->start, b->start, (size_t)a->len) == 0;
}

/* The counters object: known counters read as numbers (NaN for null or any non-number, as the
 * reference does), others skipped; a counter named twice is not for the fast path. */
static int read_counters(Cursor *c, const Expected *x, double *values)
{
    uint64_t seen = 0;
    Py_ssize_t next = 0;
    for (Py_ssize_t k = 0; k < x->n_counters; k++)
        values[k] = NAN;
    if (!take(c, '{'))
        return 0;
    if (take(c, '}'))
        return 1;
    for (;;) {
        Span key;
        if (!(read_string(c, &key) && take(c, ':')))
            return 0;
        /* Producers write the counters in one order: try the one after the last found first. */
        Py_ssize_t k = x->n_counters;
        for (Py_ssize_t tried = 0; tried < x->n_counters; tried++) {
            const Py_ssize_t candidate = (next + tried) % x->n_counters;
            if (span_equal(&key, &x->counters[candidate])) {
                k = candidate;
                next = candidate + 1;
                break;
            }
        }
        if (k == x->n_counters) {
            if (!skip_value(c))
                return 0;
        } else {
            if (seen & ((uint64_t)1 << k))
                return 0;
            seen |= (uint64_t)1 << k;
            skip_space(c);
            if (c->p < c->end && (*c->p == '-' || is_digit(*c->p))) {
                Span number;
                int integral;
                if (!(read_number(c, &number, &integral) && number_value(&number, integral, &values[k])))
                    return 0;
            } else if (!skip_value(c)) {
                return 0;
            }
        }
        if (take(c, ','))
            continue;
        return take(c, '}');
    }
}

static int two_digits(const char *p, int *out)
{
    if (!is_digit(p[0]) || !is_digit(p[1]))
        return 0;
    *out = (p[0] - '0') * 10 + (p[1] - '0');
    return 1;
}

/* `YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|+HH:MM|-HH:MM)`, a real date and time: its UTC minute of day.
 * Years 1 and 9999 are left to the reference (their UTC date may fall out of range). */
static int read_timestamp(const Span *s, int64_t *minute_of_day)
{
    static const int days_in_month[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = s->start;
    Py_ssize_t n = s->len;
    int century, yy, month, day, hour, minute, second;
    if (n < 20 || !two_digits(p, &century) || !two_digits(p + 2, &yy) || p[4] != '-' ||
        !two_digits(p + 5, &month) || p[7] != '-' || !two_digits(p + 8, &day) || p[10] != 'T' ||
        !two_digits(p + 11, &hour) || p[13] != ':' || !two_digits(p + 14, &minute) ||
        p[16] != ':' || !two_digits(p + 17, &second))
        return 0;
    const int year = century * 100 + yy;
    if (year <= 1 || year >= 9999 || month < 1 || month > 12 || hour > 23 || minute > 59 ||
        second > 59)
        return 0;
    const int leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    if (day < 1 || day > days_in_month[month - 1] + (month == 2 && leap))
        return 0;
    Py_ssize_t i = 19;
    if (p[i] == '.') {
        Py_ssize_t digits = 0;
        for (i++; i < n && is_digit(p[i]); i++)
            digits++;
        if (digits < 1 || digits > 6)
            return 0;
    }
    int offset = 0;
    if (i == n - 1 && p[i] == 'Z') {
        offset = 0;
    } else if (i == n - 6 && (p[i] == '+' || p[i] == '-') && p[i + 3] == ':') {
        int off_hour, off_minute;
        if (!two_digits(p + i + 1, &off_hour) || !two_digits(p + i + 4, &off_minute) ||
            off_hour > 23 || off_minute > 59)
            return 0;
        offset = (p[i] == '-' ? -1 : 1) * (off_hour * 60 + off_minute);
    } else {
        return 0;
    }
    *minute_of_day = ((hour * 60 + minute - offset) % 1440 + 1440) % 1440;
    return 1;
}

static int read_cell_kpi(const char *data, Py_ssize_t len, const Expected *x, CellKpi *out)
{
    Cursor c = {data, data + len, 0};
    int seen[N_TEXT_FIELDS] = {0};
    int have_counters = 0;
    if (!take(&c, '{') || take(&c, '}'))
        return 0;
    for (;;) {
        Span key;
        if (!(read_string(&c, &key) && take(&c, ':')))
            return 0;
        int field = 0;
        while (field < N_TEXT_FIELDS && !span_is(&key, TEXT_FIELDS[field], TEXT_FIELD_LENGTHS[field]))
            field++;
        if (field < N_TEXT_FIELDS) {
            if (seen[field] || !read_string(&c, &out->text[field]) || out->text[field].len == 0)
                return 0;
            seen[field] = 1;
        } else if (span_is(&key, "counters", 8)) {
            if (have_counters || !read_counters(&c, x, out->counters))
                return 0;
            have_counters = 1;
        } else if (!skip_value(&c)) {
            return 0;
        }
        if (take(&c, ','))
            continue;
        if (take(&c, '}'))
            break;
        return 0;
    }
    skip_space(&c);
    if (c.p != c.end || !have_counters)
        return 0;
    for (int field = 0; field < N_TEXT_FIELDS; field++)
        if (!seen[field])
            return 0;
    return span_equal(&out->text[F_SCHEMA], &x->schema) &&
           span_equal(&out->text[F_REGION], &x->region) &&
           read_timestamp(&out->text[F_TS], &out->minute_of_day);
}

/* A C-contiguous buffer of `count` items of `format` (a struct character; 'q' also takes 'l'
 * of 8 bytes, which is how NumPy names int64 on LP64), or -1 with TypeError or ValueError
 * naming the argument. */
static int item_buffer(PyObject *obj, Py_buffer *view, const char *name, char format,
                       Py_ssize_t itemsize, Py_ssize_t count, int writable)
{
    const int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) != 0)
        return -1;
    const char *f = view->format != NULL ? view->format : "B";
    if (f[0] == '<' || f[0] == '=' || f[0] == '@')
        f++;
    const int format_ok = (f[0] == format || (format == 'q' && f[0] == 'l')) && f[1] == '\0';
    if (view->itemsize != itemsize || !format_ok) {
        PyErr_Format(PyExc_TypeError, "%s must hold %zd-byte items of format '%c', got '%s'",
                     name, itemsize, format, view->format != NULL ? view->format : "B");
        PyBuffer_Release(view);
        return -1;
    }
    if (view->len != itemsize * count) {
        PyErr_Format(PyExc_ValueError, "%s must hold %zd items, got %zd", name, count,
                     view->len / itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static int ascii_span(PyObject *obj, const char *name, Span *out)
{
    if (!PyUnicode_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be a str, got %s", name, Py_TYPE(obj)->tp_name);
        return -1;
    }
    out->start = PyUnicode_AsUTF8AndSize(obj, &out->len);
    return out->start == NULL ? -1 : 0;
}

static char *decode_kwlist[] = {"values", "schema", "region", "counter_names", "counters_out",
                                "minutes_out", NULL};

static PyObject *decode_cell_kpis(PyObject *Py_UNUSED(module), PyObject *args, PyObject *kwargs)
{
    PyObject *values, *schema, *region, *names, *counters_obj, *minutes_obj;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OUUOOO:decode_cell_kpis", decode_kwlist,
                                     &values, &schema, &region, &names, &counters_obj,
                                     &minutes_obj))
        return NULL;
    Expected x;
    if (!PyList_Check(values)) {
        PyErr_Format(PyExc_TypeError, "values must be a list, got %s", Py_TYPE(values)->tp_name);
        return NULL;
    }
    if (!PyTuple_Check(names) || PyTuple_GET_SIZE(names) > MAX_COUNTERS) {
        PyErr_Format(PyExc_ValueError, "counter_names must be a tuple of at most %d str",
                     MAX_COUNTERS);
        return NULL;
    }
    if (ascii_span(schema, "schema", &x.schema) < 0 || ascii_span(region, "region", &x.region) < 0)
        return NULL;
    x.n_counters = PyTuple_GET_SIZE(names);
    for (Py_ssize_t k = 0; k < x.n_counters; k++)
        if (ascii_span(PyTuple_GET_ITEM(names, k), "counter_names[k]", &x.counters[k]) < 0)
            return NULL;
    const Py_ssize_t n = PyList_GET_SIZE(values);
    Py_buffer counters_view, minutes_view;
    if (item_buffer(counters_obj, &counters_view, "counters_out", 'd', 8, n * x.n_counters, 1) < 0)
        return NULL;
    if (item_buffer(minutes_obj, &minutes_view, "minutes_out", 'q', 8, n, 1) < 0) {
        PyBuffer_Release(&counters_view);
        return NULL;
    }
    PyObject *status = PyBytes_FromStringAndSize(NULL, n);
    PyObject *columns[4] = {PyList_New(n), PyList_New(n), PyList_New(n), PyList_New(n)};
    const int fields[4] = {F_EVENT_ID, F_SITE_ID, F_CELL_ID, F_TS};
    PyObject *result = NULL;
    if (status == NULL || !columns[0] || !columns[1] || !columns[2] || !columns[3])
        goto done;
    char *accepted = PyBytes_AS_STRING(status);
    Span previous[4] = {{NULL, 0}, {NULL, 0}, {NULL, 0}, {NULL, 0}};
    Py_ssize_t previous_row[4] = {0, 0, 0, 0};
    double *counters = counters_view.buf;
    int64_t *minutes = minutes_view.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *value = PyList_GET_ITEM(values, i);
        CellKpi event;
        event.counters = counters + i * x.n_counters;
        event.minute_of_day = 0;
        accepted[i] = PyBytes_Check(value) && PyBytes_GET_SIZE(value) > 0 &&
                      PyBytes_GET_SIZE(value) <= MAX_EVENT_BYTES &&
                      read_cell_kpi(PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value), &x, &event);
        minutes[i] = accepted[i] ? event.minute_of_day : 0;
        for (int j = 0; j < 4; j++) {
            PyObject *text;
            if (accepted[i]) {
                /* Neighbours share a site, often a timestamp or a cell: share the str too. */
                const Span *s = &event.text[fields[j]];
                if (j != 0 && previous[j].start != NULL && span_equal(s, &previous[j])) {
                    text = Py_NewRef(PyList_GET_ITEM(columns[j], previous_row[j]));
                } else {
                    text = PyUnicode_DecodeASCII(s->start, s->len, NULL);
                    if (text == NULL)
                        goto done;
                    previous[j] = *s;
                    previous_row[j] = i;
                }
            } else {
                text = Py_NewRef(Py_None);
            }
            PyList_SET_ITEM(columns[j], i, text);
        }
    }
    result = PyTuple_Pack(5, status, columns[0], columns[1], columns[2], columns[3]);
done:
    Py_XDECREF(status);
    for (int j = 0; j < 4; j++)
        Py_XDECREF(columns[j]);
    PyBuffer_Release(&counters_view);
    PyBuffer_Release(&minutes_view);
    return result;
}

/* ---- score records ---- */

typedef struct {
    char *data;
    size_t len, cap;
} Buffer;

static int reserve(Buffer *b, size_t more)
{
    if (b->len + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + more)
        cap *= 2;
    char *data = PyMem_Realloc(b->data, cap);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

static int put(Buffer *b, const char *text, size_t n)
{
    if (reserve(b, n) < 0)
        return -1;
    memcpy(b->data + b->len, text, n);
    b->len += n;
    return 0;
}

#define PUT_LITERAL(b, s) put((b), (s), sizeof(s) - 1)

/* A str as a JSON string: quotes, backslashes and control characters escaped, the rest as
 * UTF-8. A str that cannot be UTF-8 (a lone surrogate) raises, as orjson does. */
static int put_json_string(Buffer *b, PyObject *obj)
{
    static const char hex[] = "0123456789abcdef";
    if (!PyUnicode_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "expected a str, got %s", Py_TYPE(obj)->tp_name);
        return -1;
    }
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(obj, &n);
    if (s == NULL || reserve(b, 6 * (size_t)n + 2) < 0)
        return -1;
    char *o = b->data + b->len;
    *o++ = '"';
    for (Py_ssize_t i = 0; i < n; i++) {
        const unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            *o++ = '\\';
            *o++ = (char)ch;
        } else if (ch < 0x20) {
            *o++ = '\\';
            switch (ch) {
            case '\n': *o++ = 'n'; break;
            case '\r': *o++ = 'r'; break;
            case '\t': *o++ = 't'; break;
            case '\b': *o++ = 'b'; break;
            case '\f': *o++ = 'f'; break;
            default:
                *o++ = 'u';
                *o++ = '0';
                *o++ = '0';
                *o++ = hex[ch >> 4];
                *o++ = hex[ch & 0x0F];
            }
        } else {
            *o++ = (char)ch;
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    return 0;
}

/* round(x, 6) as JSON: the six-decimal rounding Python's round() makes, trailing zeros dropped,
 * so the text reads back as the same double; null for NaN and infinities, as orjson writes. */
static int put_score(Buffer *b, double x)
{
    if (!isfinite(x))
        return PUT_LITERAL(b, "null");
    char *text = PyOS_double_to_string(x, 'f', 6, 0, NULL);
    if (text == NULL)
        return -1;
    size_t n = strlen(text);
    while (n > 0 && text[n - 1] == '0')
        n--;
    if (n > 0 && text[n - 1] == '.')
        n++;
    const int rc = put(b, text, n);
    PyMem_Free(text);
    return rc;
}

static int put_int(Buffer *b, int64_t v)
{
    char text[24];
    const int n = snprintf(text, sizeof text, "%lld", (long long)v);
    return put(b, text, (size_t)n);
}

static int list_of(PyObject *obj, const char *name, Py_ssize_t n)
{
    if (PyList_Check(obj) && PyList_GET_SIZE(obj) == n)
        return 0;
    PyErr_Format(PyExc_ValueError, "%s must be a list of %zd items", name, n);
    return -1;
}

static char *encode_kwlist[] = {"schema", "region", "event_ids", "site_ids", "cell_ids", "ts",
                                "scores", "anomalous", "top_counters", "window_samples",
                                "window", "model", "id_namespace", "id_prefix", NULL};

static PyObject *encode_cell_scores(PyObject *Py_UNUSED(module), PyObject *args,
                                    PyObject *kwargs)
{
    PyObject *schema, *region, *event_ids, *site_ids, *cell_ids, *ts, *scores_obj, *flags_obj,
        *top, *samples_obj;
    long long window;
    const char *model, *ns, *prefix;
    Py_ssize_t model_len, ns_len, prefix_len;
    if (!PyArg_ParseTupleAndKeywords(
            args, kwargs, "UUOOOOOOOOLy#y#y#:encode_cell_scores", encode_kwlist, &schema,
            &region, &event_ids, &site_ids, &cell_ids, &ts, &scores_obj, &flags_obj, &top,
            &samples_obj, &window, &model, &model_len, &ns, &ns_len, &prefix, &prefix_len))
        return NULL;
    if (ns_len != 16) {
        PyErr_Format(PyExc_ValueError, "id_namespace must be 16 bytes, got %zd", ns_len);
        return NULL;
    }
    if (!PyList_Check(event_ids)) {
        PyErr_Format(PyExc_TypeError, "event_ids must be a list");
        return NULL;
    }
    const Py_ssize_t n = PyList_GET_SIZE(event_ids);
    if (list_of(site_ids, "site_ids", n) < 0 || list_of(cell_ids, "cell_ids", n) < 0 ||
        list_of(ts, "ts", n) < 0 || list_of(top, "top_counters", n) < 0)
        return NULL;
    Py_buffer scores_view, flags_view, samples_view;
    if (item_buffer(scores_obj, &scores_view, "scores", 'd', 8, n, 0) < 0)
        return NULL;
    if (item_buffer(flags_obj, &flags_view, "anomalous", '?', 1, n, 0) < 0) {
        PyBuffer_Release(&scores_view);
        return NULL;
    }
    if (item_buffer(samples_obj, &samples_view, "window_samples", 'q', 8, n, 0) < 0) {
        PyBuffer_Release(&scores_view);
        PyBuffer_Release(&flags_view);
        return NULL;
    }
    const double *scores = scores_view.buf;
    const char *flags = flags_view.buf;
    const int64_t *samples = samples_view.buf;
    Buffer b = {NULL, 0, 0};
    PyObject *out = PyList_New(n);
    if (out == NULL)
        goto fail;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *event_id = PyList_GET_ITEM(event_ids, i), *fragment = PyList_GET_ITEM(top, i);
        if (!PyBytes_Check(fragment)) {
            PyErr_Format(PyExc_TypeError, "top_counters[%zd] must be bytes (a JSON array)", i);
            goto fail;
        }
        Py_ssize_t id_len;
        const char *id = PyUnicode_Check(event_id) ? PyUnicode_AsUTF8AndSize(event_id, &id_len)
                                                   : NULL;
        if (id == NULL) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "event_ids[%zd] must be a str", i);
            goto fail;
        }
        char uuid[36];
        uuid5_text((const uint8_t *)ns, prefix, (size_t)prefix_len, id, (size_t)id_len, uuid);
        b.len = 0;
        if (PUT_LITERAL(&b, "{\"schema\":") < 0 || put_json_string(&b, schema) < 0 ||
            PUT_LITERAL(&b, ",\"event_id\":") < 0 || put_json_string(&b, event_id) < 0 ||
            PUT_LITERAL(&b, ",\"result_id\":\"") < 0 || put(&b, uuid, 36) < 0 ||
            PUT_LITERAL(&b, "\",\"region\":") < 0 || put_json_string(&b, region) < 0 ||
            PUT_LITERAL(&b, ",\"site_id\":") < 0 ||
            put_json_string(&b, PyList_GET_ITEM(site_ids, i)) < 0 ||
            PUT_LITERAL(&b, ",\"cell_id\":") < 0 ||
            put_json_string(&b, PyList_GET_ITEM(cell_ids, i)) < 0 ||
            PUT_LITERAL(&b, ",\"ts\":") < 0 || put_json_string(&b, PyList_GET_ITEM(ts, i)) < 0 ||
            PUT_LITERAL(&b, ",\"score\":") < 0 || put_score(&b, scores[i]) < 0 ||
            PUT_LITERAL(&b, ",\"is_anomaly\":") < 0 ||
            (flags[i] ? PUT_LITERAL(&b, "true") : PUT_LITERAL(&b, "false")) < 0 ||
            PUT_LITERAL(&b, ",\"top_counters\":") < 0 ||
            put(&b, PyBytes_AS_STRING(fragment), (size_t)PyBytes_GET_SIZE(fragment)) < 0 ||
            PUT_LITERAL(&b, ",\"window_samples\":") < 0 || put_int(&b, samples[i]) < 0 ||
            PUT_LITERAL(&b, ",\"state_rebuilt\":") < 0 ||
            (samples[i] < window ? PUT_LITERAL(&b, "true") : PUT_LITERAL(&b, "false")) < 0 ||
            PUT_LITERAL(&b, ",\"model\":") < 0 || put(&b, model, (size_t)model_len) < 0 ||
            PUT_LITERAL(&b, "}") < 0)
            goto fail;
        PyObject *record = PyBytes_FromStringAndSize(b.data, (Py_ssize_t)b.len);
        if (record == NULL)
            goto fail;
        PyList_SET_ITEM(out, i, record);
    }
    PyMem_Free(b.data);
    PyBuffer_Release(&scores_view);
    PyBuffer_Release(&flags_view);
    PyBuffer_Release(&samples_view);
    return out;
fail:
    PyMem_Free(b.data);
    Py_XDECREF(out);
    PyBuffer_Release(&scores_view);
    PyBuffer_Release(&flags_view);
    PyBuffer_Release(&samples_view);
    return NULL;
}

static PyObject *uuid5(PyObject *Py_UNUSED(module), PyObject *args)
{
    const char *ns, *name;
    Py_ssize_t ns_len, name_len;
    if (!PyArg_ParseTuple(args, "y#s#:uuid5", &ns, &ns_len, &name, &name_len))
        return NULL;
    if (ns_len != 16) {
        PyErr_Format(PyExc_ValueError, "namespace must be 16 bytes, got %zd", ns_len);
        return NULL;
    }
    char text[36];
    uuid5_text((const uint8_t *)ns, "", 0, name, (size_t)name_len, text);
    return PyUnicode_DecodeASCII(text, 36, NULL);
}

static PyMethodDef codec_methods[] = {
    {"decode_cell_kpis", (PyCFunction)(void (*)(void))decode_cell_kpis,
     METH_VARARGS | METH_KEYWORDS,
     "Cell-KPI events into columns; see pipelines.kpi_anomaly.codec.DecodeCellKpis."},
    {"encode_cell_scores", (PyCFunction)(void (*)(void))encode_cell_scores,
     METH_VARARGS | METH_KEYWORDS,
     "Score records from columns; see pipelines.kpi_anomaly.codec.EncodeCellScores."},
    {"uuid5", uuid5, METH_VARARGS, "uuid5(namespace_bytes, name) as text, as uuid.uuid5 gives."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef codec_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pipelines.kpi_anomaly._codec",
    .m_doc = "The KPI anomaly pipeline's batch codec in C; pipelines.kpi_anomaly.codec chooses.",
    .m_size = -1,
    .m_methods = codec_methods,
};

PyMODINIT_FUNC PyInit__codec(void) { return PyModule_Create(&codec_module); }
