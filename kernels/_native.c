/* Native kernels for the pipelines' hot paths; kernels/reference.py holds the NumPy
 * reference of each, with the same signature and the same argument checks.
 *
 * Plain C99 with no intrinsics, so it builds for aarch64 as well as x86-64. Every argument is
 * checked before the loop starts, so a bad call raises and leaves all state untouched, and the
 * loop itself cannot fail: it runs without the GIL.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_2_0_API_VERSION
#include <numpy/arrayobject.h>

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    const char *name;
    int type_num;
    const char *dtype_name;
    int ndim;
    int writeable;
} ArraySpec;

/* The name Python's `type(obj).__name__` gives: tp_name less any module prefix (numpy's scalar
 * types are "numpy.int64"), so messages match the reference word for word. */
static const char *type_name(PyObject *obj)
{
    const char *name = Py_TYPE(obj)->tp_name;
    const char *dot = strrchr(name, '.');
    return dot != NULL ? dot + 1 : name;
}

/* The array behind `obj` if it has the dtype, dimensions and memory layout of `spec`;
 * otherwise NULL with TypeError (not an array, wrong dtype) or ValueError set. Borrowed. */
static PyArrayObject *checked_array(PyObject *obj, const ArraySpec *spec)
{
    if (!PyArray_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be a numpy.ndarray, got %s", spec->name,
                     type_name(obj));
        return NULL;
    }
    PyArrayObject *array = (PyArrayObject *)obj;
    if (PyArray_TYPE(array) != spec->type_num || !PyArray_ISNOTSWAPPED(array)) {
        PyErr_Format(PyExc_TypeError, "%s must have dtype %s (native byte order), got %S",
                     spec->name, spec->dtype_name, (PyObject *)PyArray_DESCR(array));
        return NULL;
    }
    if (PyArray_NDIM(array) != spec->ndim) {
        PyErr_Format(PyExc_ValueError, "%s must be %d-dimensional, got %d dimensions", spec->name,
                     spec->ndim, PyArray_NDIM(array));
        return NULL;
    }
    if (!PyArray_IS_C_CONTIGUOUS(array) || !PyArray_ISALIGNED(array)) {
        PyErr_Format(PyExc_ValueError,
                     "%s must be C-contiguous and aligned (pass numpy.ascontiguousarray(%s))",
                     spec->name, spec->name);
        return NULL;
    }
    if (spec->writeable && !PyArray_ISWRITEABLE(array)) {
        PyErr_Format(PyExc_ValueError, "%s must be writeable: the kernel updates it in place",
                     spec->name);
        return NULL;
    }
    return array;
}

static int check_dim(const char *name, int axis, npy_intp got, npy_intp expected,
                     const char *because)
{
    if (got == expected)
        return 0;
    PyErr_Format(PyExc_ValueError, "%s.shape[%d] must be %zd (%s), got %zd", name, axis,
                 (Py_ssize_t)expected, because, (Py_ssize_t)got);
    return -1;
}

static int shares_memory(PyArrayObject *a, PyArrayObject *b)
{
    const char *a_start = PyArray_BYTES(a), *b_start = PyArray_BYTES(b);
    npy_intp a_size = PyArray_NBYTES(a), b_size = PyArray_NBYTES(b);
    if (a_size == 0 || b_size == 0)
        return 0;
    /* Compare as integers: relational operators on pointers into different objects are
     * undefined in C. */
    uintptr_t a0 = (uintptr_t)a_start, b0 = (uintptr_t)b_start;
    return a0 < b0 + (uintptr_t)b_size && b0 < a0 + (uintptr_t)a_size;
}

/* min_history: a Python int (not a bool), at least 1; past the window, no row is scored. */
static int parse_min_history(PyObject *obj, int64_t *min_history)
{
    if (!PyLong_Check(obj) || PyBool_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "min_history must be an int, got %s", type_name(obj));
        return -1;
    }
    int overflow = 0;
    long long value = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (value == -1 && PyErr_Occurred())
        return -1;
    if (overflow < 0 || (overflow == 0 && value < 1)) {
        PyErr_Format(PyExc_ValueError, "min_history must be at least 1, got %S", obj);
        return -1;
    }
    *min_history = overflow > 0 ? INT64_MAX : (int64_t)value;
    return 0;
}

/* clip: a Python float or int (not a bool), finite and positive. */
static int parse_clip(PyObject *obj, double *clip)
{
    if (!(PyFloat_Check(obj) || PyLong_Check(obj)) || PyBool_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "clip must be a float, got %s", type_name(obj));
        return -1;
    }
    double value = PyFloat_AsDouble(obj);
    if (value == -1.0 && PyErr_Occurred())
        return -1;
    if (!isfinite(value) || !(value > 0.0)) {
        PyErr_Format(PyExc_ValueError, "clip must be finite and positive, got %S", obj);
        return -1;
    }
    *clip = value;
    return 0;
}

typedef struct {
    double *values;          /* [cells, window, n_kpis] ring buffers, slot order */
    int64_t *counts;         /* [cells] samples ever appended per cell */
    const int64_t *slots;    /* [rows] cell of each row */
    const double *kpis;      /* [rows, n_kpis] */
    const double *hours;     /* [rows, n_hours] */
    const double *std_floor; /* [n_kpis] */
    float *out;              /* [rows, 2 * n_kpis + n_hours] */
    int64_t *history;        /* [rows] */
    npy_intp rows, window, n_kpis, n_hours;
    int64_t min_history;
    double clip;
} WindowBatch;

/* Clipping in double before narrowing gives the same float as narrowing then clipping (rounding
 * is monotonic and the bounds are exact in float), and never converts an out-of-range double.
 * NaN fails both comparisons and passes through, as it does through numpy.clip. */
static float clipped(double x, double clip)
{
    if (x > clip)
        x = clip;
    else if (x < -clip)
        x = -clip;
    return (float)x;
}

static void window_features_loop(const WindowBatch *b)
{
    const npy_intp n_kpis = b->n_kpis, window = b->window;
    const npy_intp width = 2 * n_kpis + b->n_hours;
    for (npy_intp row = 0; row < b->rows; row++) {
        const int64_t slot = b->slots[row];
        const int64_t count = b->counts[slot];
        const npy_intp held = count < (int64_t)window ? (npy_intp)count : window;
        double *ring = b->values + (npy_intp)slot * window * n_kpis;
        const double *current = b->kpis + row * n_kpis;
        float *out = b->out + row * width;
        for (npy_intp k = 0; k < n_kpis; k++) {
            /* Summed in slot order, as NumPy reduces along the window axis, so the two
             * implementations agree to the last bit. */
            double sum = 0.0;
            int64_t n = 0;
            for (npy_intp j = 0; j < held; j++) {
                const double v = ring[j * n_kpis + k];
                if (!isnan(v)) {
                    sum += v;
                    n++;
                }
            }
            const double mean = n > 0 ? sum / (double)n : NAN;
            const double x = current[k];
            const double filled = isnan(x) ? mean : x;
            out[k] = clipped(isnan(filled) ? 0.0 : filled, b->clip);
            double dev = 0.0;
            if (n >= b->min_history && !isnan(x)) {
                /* A NaN term (a missing sample, or inf - inf) is skipped, like numpy.nansum. */
                double squares = 0.0;
                for (npy_intp j = 0; j < held; j++) {
                    const double d = ring[j * n_kpis + k] - mean;
                    const double sq = d * d;
                    if (!isnan(sq))
                        squares += sq;
                }
                const double spread = sqrt(squares / (double)(n - 1 > 1 ? n - 1 : 1));
                const double lowest = b->std_floor[k];
                dev = (x - mean) / (spread > lowest ? spread : lowest);
            }
            out[n_kpis + k] = clipped(dev, b->clip);
        }
        for (npy_intp h = 0; h < b->n_hours; h++) {
            out[2 * n_kpis + h] = clipped(b->hours[row * b->n_hours + h], b->clip);
        }
        b->history[row] = (int64_t)held;
        double *slot_now = ring + (npy_intp)(count % (int64_t)window) * n_kpis;
        for (npy_intp k = 0; k < n_kpis; k++)
            slot_now[k] = current[k];
        b->counts[slot] = count + 1;
    }
}

static char *window_features_kwlist[] = {
    "values", "counts", "slots", "kpis", "hours", "std_floor", "min_history", "clip", "out",
    "history", NULL,
};

static PyObject *window_features(PyObject *Py_UNUSED(module), PyObject *args, PyObject *kwargs)
{
    PyObject *objs[8], *min_history_obj, *clip_obj;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOOOOOOO:window_features",
                                     window_features_kwlist, &objs[0], &objs[1],
                                     &objs[2], &objs[3], &objs[4], &objs[5], &min_history_obj,
                                     &clip_obj, &objs[6], &objs[7]))
        return NULL;
    static const ArraySpec specs[8] = {
        {"values", NPY_FLOAT64, "float64", 3, 1},
        {"counts", NPY_INT64, "int64", 1, 1},
        {"slots", NPY_INT64, "int64", 1, 0},
        {"kpis", NPY_FLOAT64, "float64", 2, 0},
        {"hours", NPY_FLOAT64, "float64", 2, 0},
        {"std_floor", NPY_FLOAT64, "float64", 1, 0},
        {"out", NPY_FLOAT32, "float32", 2, 1},
        {"history", NPY_INT64, "int64", 1, 1},
    };
    PyArrayObject *a[8];
    for (int i = 0; i < 8; i++) {
        if ((a[i] = checked_array(objs[i], &specs[i])) == NULL)
            return NULL;
    }
    PyArrayObject *values = a[0], *counts = a[1], *slots = a[2], *kpis = a[3], *hours = a[4],
                  *std_floor = a[5], *out = a[6], *history = a[7];
    const npy_intp cells = PyArray_DIM(values, 0), window = PyArray_DIM(values, 1);
    const npy_intp n_kpis = PyArray_DIM(values, 2), rows = PyArray_DIM(slots, 0);
    const npy_intp n_hours = PyArray_DIM(hours, 1);
    if (window < 1) {
        PyErr_SetString(PyExc_ValueError, "values.shape[1] (the window) must be at least 1");
        return NULL;
    }
    if (check_dim("counts", 0, PyArray_DIM(counts, 0), cells, "values.shape[0], the cells") ||
        check_dim("kpis", 0, PyArray_DIM(kpis, 0), rows, "len(slots), the rows") ||
        check_dim("kpis", 1, PyArray_DIM(kpis, 1), n_kpis, "values.shape[2], the KPIs") ||
        check_dim("hours", 0, PyArray_DIM(hours, 0), rows, "len(slots), the rows") ||
        check_dim("std_floor", 0, PyArray_DIM(std_floor, 0), n_kpis, "values.shape[2], the KPIs") ||
        check_dim("out", 0, PyArray_DIM(out, 0), rows, "len(slots), the rows") ||
        check_dim("out", 1, PyArray_DIM(out, 1), 2 * n_kpis + n_hours,
                  "2 * values.shape[2] + hours.shape[1], the features") ||
        check_dim("history", 0, PyArray_DIM(history, 0), rows, "len(slots), the rows"))
        return NULL;
    /* Arguments 0, 1, 6 and 7 are written; none may overlap another argument. */
    static const int written[4] = {0, 1, 6, 7};
    for (int w = 0; w < 4; w++) {
        for (int i = 0; i < 8; i++) {
            if (i != written[w] && shares_memory(a[written[w]], a[i])) {
                PyErr_Format(PyExc_ValueError,
                             "%s shares memory with %s; the kernel writes %s, so it must not "
                             "overlap another argument",
                             specs[written[w]].name, specs[i].name, specs[written[w]].name);
                return NULL;
            }
        }
    }
    int64_t min_history;
    double clip;
    if (parse_min_history(min_history_obj, &min_history) || parse_clip(clip_obj, &clip))
        return NULL;
    const double *lowest = (const double *)PyArray_DATA(std_floor);
    for (npy_intp k = 0; k < n_kpis; k++) {
        if (!isfinite(lowest[k]) || !(lowest[k] > 0.0)) {
            PyObject *got = PyFloat_FromDouble(lowest[k]);
            if (got != NULL) {
                PyErr_Format(PyExc_ValueError, "std_floor[%zd] must be finite and positive, got %R",
                             (Py_ssize_t)k, got);
                Py_DECREF(got);
            }
            return NULL;
        }
    }
    const int64_t *count = (const int64_t *)PyArray_DATA(counts);
    for (npy_intp i = 0; i < cells; i++) {
        if (count[i] < 0) {
            PyErr_Format(PyExc_ValueError, "counts[%zd] must not be negative, got %lld",
                         (Py_ssize_t)i, (long long)count[i]);
            return NULL;
        }
    }
    const int64_t *slot = (const int64_t *)PyArray_DATA(slots);
    for (npy_intp row = 0; row < rows; row++) {
        if (slot[row] < 0 || slot[row] >= (int64_t)cells) {
            PyErr_Format(PyExc_ValueError, "slots[%zd] = %lld is not a cell of values (0 to %zd)",
                         (Py_ssize_t)row, (long long)slot[row], (Py_ssize_t)cells - 1);
            return NULL;
        }
    }
    const WindowBatch batch = {
        .values = (double *)PyArray_DATA(values),
        .counts = (int64_t *)PyArray_DATA(counts),
        .slots = slot,
        .kpis = (const double *)PyArray_DATA(kpis),
        .hours = (const double *)PyArray_DATA(hours),
        .std_floor = lowest,
        .out = (float *)PyArray_DATA(out),
        .history = (int64_t *)PyArray_DATA(history),
        .rows = rows,
        .window = window,
        .n_kpis = n_kpis,
        .n_hours = n_hours,
        .min_history = min_history,
        .clip = clip,
    };
    Py_BEGIN_ALLOW_THREADS
    window_features_loop(&batch);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

PyDoc_STRVAR(window_features_doc,
             "window_features(values, counts, slots, kpis, hours, std_floor, min_history, clip, "
             "out, history)\n--\n\n"
             "Score each row against its cell's window, then append it; see "
             "kernels.WindowFeaturesKernel.");

/* ---- das_channel_stats ------------------------------------------------------------------- */

#define DAS_N_STATS 6
#define ROWS_PER_STEP 4 /* see moments_rows */
/* The LTA floor is this share of the channel's mean detrended power, plus `floor`: it keeps a
 * near-silent stretch from turning a faint blip into a huge ratio. */
#define LTA_FLOOR_SHARE 1e-3

/* A Python int (not a bool), with values outside long long clamped to its range; the caller
 * checks the range and names the limit. */
static int parse_sample_count(PyObject *obj, const char *name, long long *value)
{
    if (!PyLong_Check(obj) || PyBool_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int, got %s", name, type_name(obj));
        return -1;
    }
    int overflow = 0;
    long long got = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (got == -1 && PyErr_Occurred())
        return -1;
    *value = overflow > 0 ? LLONG_MAX : overflow < 0 ? LLONG_MIN : got;
    return 0;
}

/* floor: a Python float or int (not a bool), finite and positive. */
static int parse_floor(PyObject *obj, double *floor_out)
{
    if (!(PyFloat_Check(obj) || PyLong_Check(obj)) || PyBool_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "floor must be a float, got %s", type_name(obj));
        return -1;
    }
    double value = PyFloat_AsDouble(obj);
    if (value == -1.0 && PyErr_Occurred())
        return -1;
    if (!isfinite(value) || !(value > 0.0)) {
        PyErr_Format(PyExc_ValueError, "floor must be finite and positive, got %S", obj);
        return -1;
    }
    *floor_out = value;
    return 0;
}

/* Per-channel accumulators, one row of `n_channels` doubles each, in the workspace. The work
 * is done a row (one sample of every channel) at a time, vectorised across channels: with
 * time-major samples that streams through memory, where a channel at a time would stride. */
enum {
    ACC_FIRST, /* first sample: the shift of the pass-1 sums, so a constant channel is exact */
    ACC_SUM,   /* pass 1: sum of (x - first) */
    ACC_SQUARES,
    ACC_LINEAR, /* pass 1: projections of (x - first) on the trend basis */
    ACC_QUADRATIC,
    ACC_NONFINITE, /* pass 1: sum of (x - x): 0, or NaN once a sample is NaN or infinite */
    ACC_LOWEST,
    ACC_HIGHEST,
    ACC_MEAN, /* from pass 1 */
    ACC_COEF_LINEAR, /* trend coefficients of the centred channel */
    ACC_COEF_QUADRATIC,
    ACC_POWER,
    ACC_LTA_FLOOR,
    ACC_M4, /* pass 2: sums over the detrended signal d (its sum of d^2 is in the ring) */
    ACC_PEAK,
    ACC_BEST_RATIO,
    N_ACC
};

typedef struct {
    const void *samples; /* [n_samples, n_channels], float32 or float64, time-major */
    int samples_float32;
    double *stats;     /* [n_channels, DAS_N_STATS] */
    double *detrended; /* [n_samples, n_channels] */
    npy_intp n_samples, n_channels, sta, lta;
    double floor;
    /* Workspace: the trend basis (2 * n_samples), then rows of n_channels doubles: the
     * accumulators (N_ACC), the cumulative energy of the last lta + ROWS_PER_STEP samples (a
     * ring), float32 rows widened to double (ROWS_PER_STEP), and scratch outputs for the rows of
     * the last step that lie past the window (2 * ROWS_PER_STEP). */
    double *work;
} DasWindow;

/* The workspace's size in doubles, or 0 if it would not fit in a size_t (a 32-bit build). */
static size_t das_work_doubles(npy_intp n_samples, npy_intp n_channels, npy_intp lta)
{
    const size_t rows = (size_t)N_ACC + (size_t)lta + 4 * ROWS_PER_STEP;
    const size_t limit = SIZE_MAX / sizeof(double) - 2 * (size_t)n_samples;
    if (n_channels > 0 && rows > limit / (size_t)n_channels)
        return 0;
    return 2 * (size_t)n_samples + rows * (size_t)n_channels;
}

/* Sample row `i` as doubles: in place for float64, widened into `buffer` for float32. */
static const double *das_row(const DasWindow *w, npy_intp i, double *buffer)
{
    const npy_intp c = w->n_channels;
    if (!w->samples_float32)
        return (const double *)w->samples + i * c;
    const float *row = (const float *)w->samples + i * c;
    for (npy_intp j = 0; j < c; j++)
        buffer[j] = (double)row[j];
    return buffer;
}

/* Orthonormal linear and quadratic trends over t = numpy.linspace(-1, 1, n), both orthogonal to
 * a constant (t by symmetry, t*t - mean(t*t) by construction) and to each other (odd against
 * even), so projecting on them after removing the mean fits a least-squares quadratic. */
static void trend_basis(npy_intp n, double *restrict linear, double *restrict quadratic)
{
    const double step = 2.0 / (double)(n - 1);
    double tt = 0.0;
    for (npy_intp i = 0; i < n; i++) {
        const double t = i == n - 1 ? 1.0 : (double)i * step + -1.0;
        linear[i] = t;
        tt += t * t;
    }
    const double mean_tt = tt / (double)n;
    double uu = 0.0;
    for (npy_intp i = 0; i < n; i++) {
        const double u = linear[i] * linear[i] - mean_tt;
        quadratic[i] = u;
        uu += u * u;
    }
    const double norm_t = sqrt(tt), norm_u = sqrt(uu);
    for (npy_intp i = 0; i < n; i++) {
        linear[i] = linear[i] / norm_t;
        quadratic[i] = quadratic[i] / norm_u;
    }
}

/* The row steps take ROWS_PER_STEP rows at once, so each channel's running sums are loaded and
 * stored once per four samples (the loops are bound by those loads and stores, not by
 * arithmetic), and take their arrays as restrict parameters, which is what lets compilers
 * vectorise them across channels (restrict on local pointers is widely ignored). The order of
 * the additions is that of one row at a time. */

/* Pass 1, four rows: moments of (x - first), the extremes, and the nonfinite marker. A row past
 * the window is passed as `first` with a = b = 0, which adds exact zeros. */
static void moments_rows(npy_intp c, const double *restrict x0, const double *restrict x1,
                         const double *restrict x2, const double *restrict x3,
                         const double *restrict a, const double *restrict b,
                         const double *restrict first, double *restrict sum,
                         double *restrict squares, double *restrict lin, double *restrict quad,
                         double *restrict nonfinite, double *restrict lowest,
                         double *restrict highest)
{
    for (npy_intp j = 0; j < c; j++) {
        const double x[ROWS_PER_STEP] = {x0[j], x1[j], x2[j], x3[j]};
        double s = sum[j], ss = squares[j], l = lin[j], q = quad[j], bad = nonfinite[j];
        double lo = lowest[j], hi = highest[j];
        for (int r = 0; r < ROWS_PER_STEP; r++) {
            const double v = x[r] - first[j];
            s += v;
            ss += v * v;
            l += a[r] * v;
            q += b[r] * v;
            bad += x[r] - x[r];
            lo = x[r] < lo ? x[r] : lo;
            hi = x[r] > hi ? x[r] : hi;
        }
        sum[j] = s;
        squares[j] = ss;
        lin[j] = l;
        quad[j] = q;
        nonfinite[j] = bad;
        lowest[j] = lo;
        highest[j] = hi;
    }
}

/* Pass 2, four rows: centre and detrend them, write them out, accumulate their statistics, and
 * write the cumulative energy after each (`cum0` .. `cum3`, continuing from `cum_before`). A row
 * past the window is passed as `mean` with a = b = 0 (d = 0) and scratch outputs. */
static void detrend_rows(npy_intp c, const double *restrict x0, const double *restrict x1,
                         const double *restrict x2, const double *restrict x3,
                         const double *restrict a, const double *restrict b,
                         const double *restrict mean, const double *restrict c1,
                         const double *restrict c2, double *restrict d0, double *restrict d1,
                         double *restrict d2, double *restrict d3, double *restrict m4,
                         double *restrict peak, const double *restrict cum_before,
                         double *restrict cum0, double *restrict cum1, double *restrict cum2,
                         double *restrict cum3)
{
    for (npy_intp j = 0; j < c; j++) {
        const double x[ROWS_PER_STEP] = {x0[j], x1[j], x2[j], x3[j]};
        double d[ROWS_PER_STEP], cum[ROWS_PER_STEP];
        double fourth = m4[j], highest = peak[j], energy = cum_before[j];
        for (int r = 0; r < ROWS_PER_STEP; r++) {
            d[r] = (x[r] - mean[j]) - (a[r] * c1[j] + b[r] * c2[j]);
            const double dd = d[r] * d[r];
            fourth += dd * dd;
            const double magnitude = fabs(d[r]);
            highest = magnitude > highest ? magnitude : highest;
            energy += dd;
            cum[r] = energy;
        }
        d0[j] = d[0];
        d1[j] = d[1];
        d2[j] = d[2];
        d3[j] = d[3];
        cum0[j] = cum[0];
        cum1[j] = cum[1];
        cum2[j] = cum[2];
        cum3[j] = cum[3];
        m4[j] = fourth;
        peak[j] = highest;
    }
}

/* Pass 2, once the LTA window is full: the STA/LTA ratio ending at this row, less its constant
 * factor lta / sta, which the caller applies once to the maximum (one division per sample
 * rather than three, the bulk of the pass). `lta_floor` is already scaled by lta. */
static void sta_lta_row(npy_intp c, const double *restrict cum, const double *restrict short_ago,
                        const double *restrict long_ago, const double *restrict lta_floor,
                        double *restrict best)
{
    for (npy_intp j = 0; j < c; j++) {
        const double ratio = (cum[j] - short_ago[j]) / ((cum[j] - long_ago[j]) + lta_floor[j]);
        best[j] = ratio > best[j] ? ratio : best[j];
    }
}

static void das_channel_stats_loop(const DasWindow *w)
{
    const npy_intp n = w->n_samples, c = w->n_channels, sta = w->sta, lta = w->lta;
    /* Samples m - lta to m must be held while the step writes up to m + ROWS_PER_STEP - 1. */
    const npy_intp ring_rows = lta + ROWS_PER_STEP;
    double *const q1 = w->work, *const q2 = w->work + n;
    double *const acc = w->work + 2 * n;
    double *const ring = acc + (npy_intp)N_ACC * c;
    double *const widened = ring + ring_rows * c;         /* ROWS_PER_STEP rows */
    double *const spare = widened + ROWS_PER_STEP * c;    /* 2 * ROWS_PER_STEP rows */
    double *const first = acc + ACC_FIRST * c, *const sum = acc + ACC_SUM * c;
    double *const squares = acc + ACC_SQUARES * c, *const lin = acc + ACC_LINEAR * c;
    double *const quad = acc + ACC_QUADRATIC * c, *const nonfinite = acc + ACC_NONFINITE * c;
    double *const lowest = acc + ACC_LOWEST * c, *const highest = acc + ACC_HIGHEST * c;
    double *const mean = acc + ACC_MEAN * c, *const c1 = acc + ACC_COEF_LINEAR * c;
    double *const c2 = acc + ACC_COEF_QUADRATIC * c, *const power = acc + ACC_POWER * c;
    double *const lta_floor = acc + ACC_LTA_FLOOR * c, *const m4 = acc + ACC_M4 * c;
    double *const peak = acc + ACC_PEAK * c, *const best = acc + ACC_BEST_RATIO * c;
    trend_basis(n, q1, q2);
    double sum_q1 = 0.0, sum_q2 = 0.0;
    for (npy_intp i = 0; i < n; i++) {
        sum_q1 += q1[i];
        sum_q2 += q2[i];
    }

    /* Pass 1: moments about the first sample, which lies within the channel's range, so the
     * shifted sums lose no precision to a DC offset and the mean of a constant channel is exact. */
    const double *x[ROWS_PER_STEP];
    double a[ROWS_PER_STEP], b[ROWS_PER_STEP];
    x[0] = das_row(w, 0, widened);
    for (npy_intp j = 0; j < c; j++) {
        first[j] = lowest[j] = highest[j] = x[0][j];
        sum[j] = squares[j] = lin[j] = quad[j] = nonfinite[j] = 0.0;
    }
    for (npy_intp i = 0; i < n; i += ROWS_PER_STEP) {
        for (int r = 0; r < ROWS_PER_STEP; r++) {
            const int real = i + r < n;
            x[r] = real ? das_row(w, i + r, widened + r * c) : first;
            a[r] = real ? q1[i + r] : 0.0;
            b[r] = real ? q2[i + r] : 0.0;
        }
        moments_rows(c, x[0], x[1], x[2], x[3], a, b, first, sum, squares, lin, quad, nonfinite,
                     lowest, highest);
    }
    const double n_d = (double)n;
    for (npy_intp j = 0; j < c; j++) {
        const double shift = sum[j] / n_d;
        mean[j] = first[j] + shift;
        /* The basis sums to 0 up to rounding; the correction keeps that rounding out. */
        c1[j] = lin[j] - shift * sum_q1;
        c2[j] = quad[j] - shift * sum_q2;
        /* sum (x - mean)^2 = sum (x - first)^2 - n shift^2. The cancellation is at most a factor
         * of n, since no sample lies more than sqrt(n) deviations from the mean. */
        const double centred = squares[j] - sum[j] * shift;
        power[j] = centred > 0.0 ? centred : 0.0;
        /* The detrended signal is the centred one less its projection on an orthonormal basis,
         * so its energy is the centred energy less c1^2 + c2^2: known before pass 2, which can
         * then run the STA/LTA alongside the moments the floor needs. Scaled by lta, as the
         * ratios in sta_lta_row are. */
        const double residual = power[j] - c1[j] * c1[j] - c2[j] * c2[j];
        lta_floor[j] =
            (LTA_FLOOR_SHARE * ((residual > 0.0 ? residual : 0.0) / n_d) + w->floor) * (double)lta;
        m4[j] = peak[j] = ring[j] = 0.0;
        best[j] = -INFINITY;
    }

    /* Pass 2: centre, detrend, and accumulate the rest. Ring row m % ring_rows holds the
     * cumulative energy of the first m samples, as numpy.cumsum gives it, for the trailing
     * sums; the row indices advance without a division per sample. */
    npy_intp before = 0, short_ago = ring_rows - sta, long_ago = 0;
    for (npy_intp i = 0; i < n; i += ROWS_PER_STEP) {
        double *d[ROWS_PER_STEP], *cum[ROWS_PER_STEP];
        npy_intp row = before;
        for (int r = 0; r < ROWS_PER_STEP; r++) {
            const int real = i + r < n;
            row = row + 1 == ring_rows ? 0 : row + 1;
            x[r] = real ? das_row(w, i + r, widened + r * c) : mean;
            a[r] = real ? q1[i + r] : 0.0;
            b[r] = real ? q2[i + r] : 0.0;
            d[r] = real ? w->detrended + (i + r) * c : spare + r * c;
            cum[r] = real ? ring + row * c : spare + (ROWS_PER_STEP + r) * c;
        }
        detrend_rows(c, x[0], x[1], x[2], x[3], a, b, mean, c1, c2, d[0], d[1], d[2], d[3], m4,
                     peak, ring + before * c, cum[0], cum[1], cum[2], cum[3]);
        for (int r = 0; r < ROWS_PER_STEP && i + r < n; r++) {
            const npy_intp m = i + r + 1;
            before = before + 1 == ring_rows ? 0 : before + 1;
            short_ago = short_ago + 1 == ring_rows ? 0 : short_ago + 1;
            if (m > lta)
                long_ago = long_ago + 1 == ring_rows ? 0 : long_ago + 1;
            if (m >= lta)
                sta_lta_row(c, ring + before * c, ring + short_ago * c, ring + long_ago * c,
                            lta_floor, best);
        }
    }

    const double *total = ring + before * c; /* the cumulative energy of all n samples */
    for (npy_intp j = 0; j < c; j++) {
        double *out = w->stats + j * DAS_N_STATS;
        if (nonfinite[j] != 0.0) {
            for (int k = 0; k < DAS_N_STATS; k++)
                out[k] = NAN;
            for (npy_intp i = 0; i < n; i++)
                w->detrended[i * c + j] = NAN;
            continue;
        }
        const double detrended_power = total[j] / n_d + w->floor;
        out[0] = (c1[j] * c1[j] + c2[j] * c2[j]) / n_d;
        out[1] = power[j] / n_d;
        out[2] = highest[j] - lowest[j];
        out[3] = (m4[j] / n_d) / (detrended_power * detrended_power);
        out[4] = peak[j] / sqrt(detrended_power);
        /* Every ratio is finite while the cumulative energy is (the denominators are at least
         * `floor`); once it overflows, inf - inf makes one NaN, and numpy.max returns NaN. */
        out[5] = isfinite(total[j]) ? best[j] * ((double)lta / (double)sta) : NAN;
    }
}

static char *das_channel_stats_kwlist[] = {
    "samples", "sta_samples", "lta_samples", "floor", "stats", "detrended", NULL,
};

static PyObject *das_channel_stats(PyObject *Py_UNUSED(module), PyObject *args, PyObject *kwargs)
{
    PyObject *objs[3], *sta_obj, *lta_obj, *floor_obj;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOOO:das_channel_stats",
                                     das_channel_stats_kwlist, &objs[0], &sta_obj, &lta_obj,
                                     &floor_obj, &objs[1], &objs[2]))
        return NULL;
    /* samples takes either float width; the spec matching its dtype is checked, so a wrong
     * dtype reports both widths. */
    static const ArraySpec samples64 = {"samples", NPY_FLOAT64, "float32 or float64", 2, 0};
    static const ArraySpec samples32 = {"samples", NPY_FLOAT32, "float32 or float64", 2, 0};
    static const ArraySpec written[2] = {
        {"stats", NPY_FLOAT64, "float64", 2, 1},
        {"detrended", NPY_FLOAT64, "float64", 2, 1},
    };
    const int float32 =
        PyArray_Check(objs[0]) && PyArray_TYPE((PyArrayObject *)objs[0]) == NPY_FLOAT32;
    PyArrayObject *a[3];
    if ((a[0] = checked_array(objs[0], float32 ? &samples32 : &samples64)) == NULL ||
        (a[1] = checked_array(objs[1], &written[0])) == NULL ||
        (a[2] = checked_array(objs[2], &written[1])) == NULL)
        return NULL;
    PyArrayObject *samples = a[0], *stats = a[1], *detrended = a[2];
    const npy_intp n = PyArray_DIM(samples, 0), c = PyArray_DIM(samples, 1);
    if (n < 3) {
        PyErr_Format(PyExc_ValueError,
                     "samples.shape[0] must be at least 3 (a quadratic trend needs 3 samples), "
                     "got %zd",
                     (Py_ssize_t)n);
        return NULL;
    }
    if (check_dim("stats", 0, PyArray_DIM(stats, 0), c, "samples.shape[1], the channels") ||
        check_dim("stats", 1, PyArray_DIM(stats, 1), DAS_N_STATS, "the statistics") ||
        check_dim("detrended", 0, PyArray_DIM(detrended, 0), n, "samples.shape[0], the samples") ||
        check_dim("detrended", 1, PyArray_DIM(detrended, 1), c, "samples.shape[1], the channels"))
        return NULL;
    const char *names[3] = {"samples", "stats", "detrended"};
    for (int w = 1; w < 3; w++) {
        for (int i = 0; i < 3; i++) {
            if (i != w && shares_memory(a[w], a[i])) {
                PyErr_Format(PyExc_ValueError,
                             "%s shares memory with %s; the kernel writes %s, so it must not "
                             "overlap another argument",
                             names[w], names[i], names[w]);
                return NULL;
            }
        }
    }
    long long sta, lta;
    if (parse_sample_count(sta_obj, "sta_samples", &sta))
        return NULL;
    if (sta < 1) {
        PyErr_Format(PyExc_ValueError, "sta_samples must be at least 1, got %S", sta_obj);
        return NULL;
    }
    if (parse_sample_count(lta_obj, "lta_samples", &lta))
        return NULL;
    /* Bounded by n first, so the comparison with sta never sees a clamped lta. */
    if (lta > (long long)n) {
        PyErr_Format(PyExc_ValueError, "lta_samples must be at most samples.shape[0] (%zd), got %S",
                     (Py_ssize_t)n, lta_obj);
        return NULL;
    }
    if (lta <= sta) {
        PyErr_Format(PyExc_ValueError, "lta_samples must be more than sta_samples (%S), got %S",
                     sta_obj, lta_obj);
        return NULL;
    }
    double floor_value;
    if (parse_floor(floor_obj, &floor_value))
        return NULL;
    const size_t work_doubles = das_work_doubles(n, c, (npy_intp)lta);
    double *work = work_doubles > 0 ? PyMem_Malloc(work_doubles * sizeof(double)) : NULL;
    if (work == NULL)
        return PyErr_NoMemory();
    const DasWindow window = {
        .samples = PyArray_DATA(samples),
        .samples_float32 = float32,
        .stats = (double *)PyArray_DATA(stats),
        .detrended = (double *)PyArray_DATA(detrended),
        .n_samples = n,
        .n_channels = c,
        .sta = (npy_intp)sta,
        .lta = (npy_intp)lta,
        .floor = floor_value,
        .work = work,
    };
    Py_BEGIN_ALLOW_THREADS
    das_channel_stats_loop(&window);
    Py_END_ALLOW_THREADS
    PyMem_Free(work);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(das_channel_stats_doc,
             "das_channel_stats(samples, sta_samples, lta_samples, floor, stats, detrended)\n--\n\n"
             "Per-channel power, trend and amplitude statistics of a DAS window, and the "
             "detrended window; see kernels.DasChannelStatsKernel.");

static PyMethodDef native_methods[] = {
    {"window_features", (PyCFunction)(void (*)(void))window_features,
     METH_VARARGS | METH_KEYWORDS, window_features_doc},
    {"das_channel_stats", (PyCFunction)(void (*)(void))das_channel_stats,
     METH_VARARGS | METH_KEYWORDS, das_channel_stats_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "kernels._native",
    .m_doc = "C99 kernels; kernels selects between these and their NumPy references.",
    .m_size = -1,
    .m_methods = native_methods,
};

PyMODINIT_FUNC PyInit__native(void)
{
    import_array();
    return PyModule_Create(&native_module);
}
