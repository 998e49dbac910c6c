// The benchmark suite: every workload of suite.h, for every peer, in one
// process, registered with Google Benchmark (repetitions, random
// interleaving of the repetitions of all rows, JSON output).
//
//   bench_suite [--contend-seconds=S] [benchmark flags]   run the suite
//   bench_suite --sizes                                   sizeof table, JSON
//   bench_suite --play ROW N                              N rounds of one
//                       row without the harness, for strace, perf and callgrind
//                       (a contended row: one run of N milliseconds)
//
// Google Benchmark's ->Threads(n) gives every thread the same number of
// iterations, so it cannot show fairness: the contended rows run their own
// threads for a fixed time instead (one iteration, manual time) and report
// what each thread got.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "suite.h"

namespace {

double contend_seconds = 0.25;

// The contended sections: one increment and nothing but a timestamp
// outside it; or about 200 ns of work inside and 200 ns outside.
struct Section {
    const char *name;
    double inside, outside;
};
const Section sections[] = { { "inc", 0, 0 }, { "200ns", 200, 200 } };

// Process CPU time and context switches over a measured loop, per iteration.
class Usage {
public:
    Usage() { bench_usage(&cpu_, &switches_); }
    void report(benchmark::State &st) const
    {
        double cpu, switches;
        bench_usage(&cpu, &switches);
        double n = static_cast<double>(st.iterations());
        st.counters["cpu_ns"] = (cpu - cpu_) * 1e9 / n;
        st.counters["switches"] = (switches - switches_) / n;
    }

private:
    double cpu_, switches_;
};

void contended(benchmark::State &st, const bench_lock_peer *p, int threads, double inside_ns,
               double outside_ns)
{
    bench_contention cfg = { threads, bench_work_units(inside_ns), bench_work_units(outside_ns),
                             contend_seconds };
    bench_contention_result r;
    for (auto _ : st) {
        bench_contend(p, &cfg, &r);
        st.SetIterationTime(r.seconds);
    }
    st.counters["Mops"] = static_cast<double>(r.total) / r.seconds * 1e-6;
    st.counters["fair"] = r.max ? static_cast<double>(r.min) / static_cast<double>(r.max) : 0;
    st.counters["jain"] = r.jain;
    st.counters["worst_us"] = r.worst_ns * 1e-3;
    st.counters["cpu_ns"] = r.total ? r.cpu_seconds * 1e9 / static_cast<double>(r.total) : 0;
    st.counters["cores"] = r.cpu_seconds / r.seconds;
    st.counters["switches"] = r.total ? r.switches / static_cast<double>(r.total) : 0;
}

// Every row but the contended ones: its name, and how to play n rounds.
struct Row {
    enum Kind { Pairs, Team, Loop } kind;
    std::string name;
    const void *peer;
    unsigned parties;
    long per_batch;

    // n rounds of a Pairs or Loop row, its object already set up.
    void batch(long n) const
    {
        if (kind == Pairs)
            static_cast<const bench_lock_peer *>(peer)->uncontended(n);
        else
            static_cast<const bench_loop_peer *>(peer)->run(n);
    }

    void play(long n) const
    {
        if (kind == Team) {
            auto p = static_cast<const bench_team_peer *>(peer);
            bench_team_start(p, parties, n);
            for (long i = 0; i < n; i++)
                p->round();
            bench_team_finish(p);
            return;
        }
        if (kind == Pairs)
            static_cast<const bench_lock_peer *>(peer)->reset();
        batch(n);
    }
};

std::vector<Row> rows()
{
    std::vector<Row> r;
    for (const bench_lock_peer *p = bench_lock_peers; p->name; p++)
        if (p->uncontended)
            r.push_back({ Row::Pairs, std::string("lock_uncontended/") + p->name, p, 1, 1000 });
    struct {
        const char *workload;
        const bench_team_peer *peers;
        unsigned parties;
    } teams[] = {
        { "cond_pingpong", bench_cond_peers, 2 },   { "sem_pingpong", bench_sem_peers, 2 },
        { "event_pingpong", bench_event_peers, 2 }, { "barrier/2", bench_barrier_peers, 2 },
        { "barrier/4", bench_barrier_peers, 4 },
    };
    for (const auto &t : teams)
        for (const bench_team_peer *p = t.peers; p->name; p++)
            r.push_back({ Row::Team, std::string(t.workload) + "/" + p->name, p, t.parties, 1 });
    for (const bench_loop_peer *p = bench_thread_peers; p->name; p++)
        r.push_back({ Row::Loop, std::string("thread_create_join/") + p->name, p, 1, 1 });
    for (const bench_loop_peer *p = bench_nowait_peers; p->name; p++)
        r.push_back({ Row::Loop, std::string("nowait/") + p->name, p, 1, 1000 });
    return r;
}

void measure(benchmark::State &st, const Row &row)
{
    if (row.kind == Row::Team) {
        auto p = static_cast<const bench_team_peer *>(row.peer);
        bench_team_start(p, row.parties, static_cast<long>(st.max_iterations));
        Usage u;
        for (auto _ : st)
            p->round();
        u.report(st);
        bench_team_finish(p);
        return;
    }
    if (row.kind == Row::Pairs)
        static_cast<const bench_lock_peer *>(row.peer)->reset();
    Usage u;
    while (st.KeepRunningBatch(row.per_batch))
        row.batch(row.per_batch);
    u.report(st);
}

void register_all()
{
    // Rows of one round an iteration take microseconds, mostly asleep and
    // on several threads: wall time, and the whole process's CPU time.
    for (const Row &row : rows()) {
        auto *b = benchmark::RegisterBenchmark(row.name.c_str(), measure, row);
        if (row.per_batch == 1)
            b->UseRealTime()->MeasureProcessCPUTime()->Unit(benchmark::kMicrosecond);
    }

    for (const Section &s : sections)
        for (int threads : { 2, 4, 8, 16 })
            for (const bench_lock_peer *p = bench_lock_peers; p->name; p++) {
                if (!p->contend)
                    continue;
                std::string name = "lock_contended/" + std::string(s.name) + "/" +
                                   std::to_string(threads) + "/" + p->name;
                benchmark::RegisterBenchmark(name.c_str(), contended, p, threads, s.inside,
                                             s.outside)
                    ->Iterations(1)
                    ->UseManualTime()
                    ->Unit(benchmark::kMillisecond);
            }
}

// n rounds of one row, without Google Benchmark, for strace and callgrind;
// for a contended row, one run of n milliseconds, whose acquisitions it
// prints (for perf to count system calls per acquisition).
int play(const char *name, long n)
{
    for (const Row &row : rows())
        if (row.name == name) {
            row.play(n);
            return 0;
        }
    char section[16], peer[64];
    int threads;
    if (std::sscanf(name, "lock_contended/%15[^/]/%d/%63s", section, &threads, peer) != 3)
        threads = 0;
    for (const Section &s : sections)
        for (const bench_lock_peer *p = bench_lock_peers; threads && p->name; p++) {
            if (std::strcmp(s.name, section) != 0 || !p->contend ||
                std::strcmp(p->name, peer) != 0)
                continue;
            bench_calibrate();
            bench_contention cfg = { threads, bench_work_units(s.inside),
                                     bench_work_units(s.outside), static_cast<double>(n) * 1e-3 };
            bench_contention_result r;
            bench_contend(p, &cfg, &r);
            std::printf("{\"acquisitions\": %ld, \"seconds\": %.6f}\n", r.total, r.seconds);
            return 0;
        }
    std::fprintf(stderr, "bench_suite: no row named %s\n", name);
    return 2;
}

int print_sizes()
{
    std::printf("[\n");
    for (const bench_size *s = bench_sizes; s->primitive; s++)
        std::printf("  {\"primitive\": \"%s\", \"peer\": \"%s\", \"type\": \"%s\", \"size\": %zu}%s\n",
                    s->primitive, s->peer, s->type, s->size, s[1].primitive ? "," : "");
    std::printf("]\n");
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    if (argc == 2 && std::strcmp(argv[1], "--sizes") == 0)
        return print_sizes();
    if (argc == 4 && std::strcmp(argv[1], "--play") == 0)
        return play(argv[2], std::atol(argv[3]));
    // Our own flag first; Google Benchmark takes the rest.
    int kept = 1;
    for (int i = 1; i < argc; i++) {
        if (std::strncmp(argv[i], "--contend-seconds=", 18) == 0)
            contend_seconds = std::atof(argv[i] + 18);
        else
            argv[kept++] = argv[i];
    }
    argc = kept;

    bench_calibrate();
    benchmark::AddCustomContext("contend_seconds", std::to_string(contend_seconds));
    benchmark::AddCustomContext("work_units_200ns", std::to_string(bench_work_units(200)));
    benchmark::AddCustomContext("tick_ns", std::to_string(bench_ticks_to_ns(1000) / 1000));
    register_all();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
