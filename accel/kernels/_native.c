/* Native kernels for the pipelines' hot paths; accel/kernels/reference.py holds the NumPy
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

#include <math.h>
#include <stdint.h>

typedef struct {
    const char *name;
    int type_num;
    const char *dtype_name;
    int ndim;
    int writeable;
} ArraySpec;

/* The array behind `obj` if it has the dtype, dimensions and memory layout of `spec`;
 * otherwise NULL with TypeError (not an array, wrong dtype) or ValueError set. Borrowed. */
static PyArrayObject *checked_array(PyObject *obj, const ArraySpec *spec)
{
    if (!PyArray_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be a numpy.ndarray, got %s", spec->name,
                     Py_TYPE(obj)->tp_name);
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
        PyErr_Format(PyExc_TypeError, "min_history must be an int, got %s", Py_TYPE(obj)->tp_name);
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
        PyErr_Format(PyExc_TypeError, "clip must be a float, got %s", Py_TYPE(obj)->tp_name);
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
             "accel.kernels.WindowFeaturesKernel.");

static PyMethodDef native_methods[] = {
    {"window_features", (PyCFunction)(void (*)(void))window_features,
     METH_VARARGS | METH_KEYWORDS, window_features_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "accel.kernels._native",
    .m_doc = "C99 kernels; accel.kernels selects between these and their NumPy references.",
    .m_size = -1,
    .m_methods = native_methods,
};

PyMODINIT_FUNC PyInit__native(void)
{
    import_array();
    return PyModule_Create(&native_module);
}
