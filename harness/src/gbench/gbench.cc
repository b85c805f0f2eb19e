// SPDX-License-Identifier: MIT
// The C++ side of vox/gbench.h: forwards each C call to Google Benchmark and collects results.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include "vox/gbench.h"

namespace
{

benchmark::State &S(struct vox_gb_state *st)
{
    return *reinterpret_cast<benchmark::State *>(st);
}
const benchmark::State &S(const struct vox_gb_state *st)
{
    return *reinterpret_cast<const benchmark::State *>(st);
}
benchmark::internal::Benchmark *B(struct vox_gb_bench *b)
{
    return reinterpret_cast<benchmark::internal::Benchmark *>(b);
}
struct vox_gb_bench *C(benchmark::internal::Benchmark *b)
{
    return reinterpret_cast<struct vox_gb_bench *>(b);
}

void copy(char *dst, size_t cap, const std::string &src)
{
    size_t n = src.size() < cap - 1 ? src.size() : cap - 1;
    std::memcpy(dst, src.data(), n);
    dst[n] = '\0';
}

// Wraps the display reporter GB would have made (console, JSON or CSV) and keeps a copy of
// every run for the C caller.
class Collector : public benchmark::BenchmarkReporter
{
  public:
    explicit Collector(std::unique_ptr<benchmark::BenchmarkReporter> inner)
        : inner_(std::move(inner))
    {
    }
    bool ReportContext(const Context &ctx) override
    {
        return inner_->ReportContext(ctx);
    }
    void ReportRuns(const std::vector<Run> &runs) override
    {
        for (const Run &r : runs)
            keep(r);
        inner_->ReportRuns(runs);
    }
    void Finalize() override
    {
        inner_->Finalize();
    }
    std::vector<vox_gb_result> results;

  private:
    void keep(const Run &r)
    {
        vox_gb_result out;
        double to_ns = 1.0;

        std::memset(&out, 0, sizeof(out));
        copy(out.name, sizeof(out.name), r.run_name.str());
        copy(out.family, sizeof(out.family),
             r.run_name.args.empty() ? r.run_name.function_name
                                     : r.run_name.function_name + "/" + r.run_name.args);
        if (r.run_type == Run::RT_Aggregate)
            copy(out.aggregate, sizeof(out.aggregate), r.aggregate_name);
        out.iterations = r.iterations;
        out.threads = r.threads;
        switch (r.time_unit) {
        case benchmark::kNanosecond:
            to_ns = 1.0;
            break;
        case benchmark::kMicrosecond:
            to_ns = 1e3;
            break;
        case benchmark::kMillisecond:
            to_ns = 1e6;
            break;
        case benchmark::kSecond:
            to_ns = 1e9;
            break;
        }
        out.real_ns = r.GetAdjustedRealTime() * to_ns;
        out.cpu_ns = r.GetAdjustedCPUTime() * to_ns;
        out.error = r.error_occurred;
        copy(out.error_message, sizeof(out.error_message), r.error_message);
        for (const auto &kv : r.counters) {
            if (out.counter_count == sizeof(out.counters) / sizeof(out.counters[0]))
                break;
            vox_gb_counter_value &c = out.counters[out.counter_count++];
            copy(c.name, sizeof(c.name), kv.first);
            c.value = kv.second.value;
        }
        results.push_back(out);
    }
    std::unique_ptr<benchmark::BenchmarkReporter> inner_;
};

// GB's flags are parsed by Initialize, but the display reporter is ours to build, so the
// format flag is read here the same way (last one wins).
std::string format_flag(int argc, char **argv)
{
    std::string fmt = "console";
    const char *key = "--benchmark_format=";
    for (int i = 1; i < argc; i++)
        if (std::strncmp(argv[i], key, std::strlen(key)) == 0)
            fmt = argv[i] + std::strlen(key);
    return fmt;
}

// The median aggregate when the runs were repeated, else the first plain run.
template <typename Match>
const vox_gb_result *find_best(const struct vox_gb_results *r, Match match)
{
    const vox_gb_result *plain = nullptr;

    for (size_t i = 0; r && i < r->count; i++) {
        const vox_gb_result &x = r->runs[i];
        if (!match(x))
            continue;
        if (std::strcmp(x.aggregate, "median") == 0)
            return &x;
        if (!x.aggregate[0] && !plain)
            plain = &x;
    }
    return plain;
}

} // namespace

extern "C" {

struct vox_gb_bench *vox_gb_register(const char *name, vox_gb_fn fn, void *ctx)
{
    return C(benchmark::RegisterBenchmark(
        name, [fn, ctx](benchmark::State &st) { fn(reinterpret_cast<vox_gb_state *>(&st), ctx); }));
}

struct vox_gb_bench *vox_gb_arg(struct vox_gb_bench *b, int64_t x)
{
    return C(B(b)->Arg(x));
}

struct vox_gb_bench *vox_gb_args(struct vox_gb_bench *b, const int64_t *xs, size_t n)
{
    return C(B(b)->Args(std::vector<int64_t>(xs, xs + n)));
}

struct vox_gb_bench *vox_gb_range(struct vox_gb_bench *b, int64_t lo, int64_t hi)
{
    return C(B(b)->Range(lo, hi));
}

struct vox_gb_bench *vox_gb_dense_range(struct vox_gb_bench *b, int64_t lo, int64_t hi, int step)
{
    return C(B(b)->DenseRange(lo, hi, step));
}

struct vox_gb_bench *vox_gb_arg_names(struct vox_gb_bench *b, const char *const *names, size_t n)
{
    return C(B(b)->ArgNames(std::vector<std::string>(names, names + n)));
}

struct vox_gb_bench *vox_gb_threads(struct vox_gb_bench *b, int threads)
{
    return C(B(b)->Threads(threads));
}

struct vox_gb_bench *vox_gb_unit(struct vox_gb_bench *b, enum vox_gb_unit unit)
{
    static const benchmark::TimeUnit map[] = {benchmark::kNanosecond, benchmark::kMicrosecond,
                                              benchmark::kMillisecond, benchmark::kSecond};
    return C(B(b)->Unit(map[unit]));
}

struct vox_gb_bench *vox_gb_iterations(struct vox_gb_bench *b, int64_t n)
{
    return C(B(b)->Iterations(n));
}

struct vox_gb_bench *vox_gb_repetitions(struct vox_gb_bench *b, int n)
{
    return C(B(b)->Repetitions(n));
}

struct vox_gb_bench *vox_gb_min_time(struct vox_gb_bench *b, double seconds)
{
    return C(B(b)->MinTime(seconds));
}

struct vox_gb_bench *vox_gb_use_real_time(struct vox_gb_bench *b)
{
    return C(B(b)->UseRealTime());
}

struct vox_gb_bench *vox_gb_use_manual_time(struct vox_gb_bench *b)
{
    return C(B(b)->UseManualTime());
}

bool vox_gb_keep_running(struct vox_gb_state *st)
{
    return S(st).KeepRunning();
}

bool vox_gb_keep_running_batch(struct vox_gb_state *st, int64_t n)
{
    return S(st).KeepRunningBatch(n);
}

int64_t vox_gb_batch(const struct vox_gb_state *st, int64_t n)
{
    return S(st).max_iterations < n ? S(st).max_iterations : n;
}

int64_t vox_gb_range_arg(const struct vox_gb_state *st, size_t i)
{
    return S(st).range(i);
}

int vox_gb_thread_index(const struct vox_gb_state *st)
{
    return S(st).thread_index();
}

int vox_gb_thread_count(const struct vox_gb_state *st)
{
    return S(st).threads();
}

int64_t vox_gb_max_iterations(const struct vox_gb_state *st)
{
    return S(st).max_iterations;
}

void vox_gb_pause_timing(struct vox_gb_state *st)
{
    S(st).PauseTiming();
}

void vox_gb_resume_timing(struct vox_gb_state *st)
{
    S(st).ResumeTiming();
}

void vox_gb_set_iteration_time(struct vox_gb_state *st, double seconds)
{
    S(st).SetIterationTime(seconds);
}

void vox_gb_set_items_processed(struct vox_gb_state *st, int64_t items)
{
    S(st).SetItemsProcessed(items);
}

void vox_gb_set_bytes_processed(struct vox_gb_state *st, int64_t bytes)
{
    S(st).SetBytesProcessed(bytes);
}

void vox_gb_counter(struct vox_gb_state *st, const char *name, double value, unsigned flags)
{
    int f = benchmark::Counter::kDefaults;

    if (flags & VOX_GB_COUNTER_RATE)
        f |= benchmark::Counter::kIsRate;
    if (flags & VOX_GB_COUNTER_AVG_THREADS)
        f |= benchmark::Counter::kAvgThreads;
    if (flags & VOX_GB_COUNTER_ITER_INVARIANT)
        f |= benchmark::Counter::kIsIterationInvariant;
    if (flags & VOX_GB_COUNTER_AVG_ITERATIONS)
        f |= benchmark::Counter::kAvgIterations;
    if (flags & VOX_GB_COUNTER_INVERT)
        f |= benchmark::Counter::kInvert;
    S(st).counters[name] = benchmark::Counter(value, static_cast<benchmark::Counter::Flags>(f));
}

void vox_gb_set_label(struct vox_gb_state *st, const char *label)
{
    S(st).SetLabel(label);
}

void vox_gb_skip_with_error(struct vox_gb_state *st, const char *msg)
{
    S(st).SkipWithError(msg);
}

int vox_gb_run(int *argc, char **argv, struct vox_gb_results *out)
{
    std::string fmt = format_flag(*argc, argv);
    std::unique_ptr<benchmark::BenchmarkReporter> inner;

    out->count = 0;
    out->runs = nullptr;
    benchmark::Initialize(argc, argv);
    if (benchmark::ReportUnrecognizedArguments(*argc, argv))
        return -1;
    if (fmt == "json") {
        inner.reset(new benchmark::JSONReporter());
    } else if (fmt == "console") {
        inner.reset(new benchmark::ConsoleReporter(isatty(STDOUT_FILENO)
                                                       ? benchmark::ConsoleReporter::OO_Defaults
                                                       : benchmark::ConsoleReporter::OO_Tabular));
    } else {
        // GB 1.7 deprecates its CSV reporter; JSON carries everything CSV did.
        std::fprintf(stderr, "--benchmark_format=%s: use console or json\n", fmt.c_str());
        return -1;
    }
    Collector collector(std::move(inner));
    size_t n = benchmark::RunSpecifiedBenchmarks(&collector);
    benchmark::Shutdown();
    out->count = collector.results.size();
    if (out->count) {
        out->runs = static_cast<vox_gb_result *>(std::calloc(out->count, sizeof(vox_gb_result)));
        if (!out->runs) {
            out->count = 0;
            return -1;
        }
        std::memcpy(out->runs, collector.results.data(), out->count * sizeof(vox_gb_result));
    }
    return static_cast<int>(n);
}

void vox_gb_results_free(struct vox_gb_results *r)
{
    if (!r)
        return;
    std::free(r->runs);
    r->runs = nullptr;
    r->count = 0;
}

const struct vox_gb_result *vox_gb_results_find(const struct vox_gb_results *r, const char *name)
{
    return find_best(r, [name](const vox_gb_result &x) { return std::strcmp(x.name, name) == 0; });
}

const struct vox_gb_result *vox_gb_results_find_family(const struct vox_gb_results *r,
                                                       const char *family, int threads)
{
    return find_best(r, [family, threads](const vox_gb_result &x) {
        return std::strcmp(x.family, family) == 0 && (threads == 0 || x.threads == threads);
    });
}

double vox_gb_result_counter(const struct vox_gb_result *r, const char *name, double dflt)
{
    for (size_t i = 0; r && i < r->counter_count; i++)
        if (std::strcmp(r->counters[i].name, name) == 0)
            return r->counters[i].value;
    return dflt;
}

} // extern "C"
