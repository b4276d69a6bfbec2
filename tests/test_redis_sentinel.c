/* A Sentinel failover under a live client (issue 16 item 2).
 *
 * Run by the Sentinel stage of tools/test (tools/lib/sentinel_stage.sh),
 * which starts a master, a replica and three sentinels on 127.0.0.1 and
 * passes them in RS_TEST_SENTINEL_* variables; without them every case is
 * skipped. The test kills the master itself (SIGKILL to its pid) once the
 * client runs steadily, keeps calling through the failover, and checks:
 *
 * - every call returns within the pool's connect + command timeouts (the
 *   bound each call has without a failover);
 * - meanwhile each object answers by its failure policy: CLOSED refuses
 *   (RS_E_IO), OPEN admits, LOCAL decides with its local share, and a
 *   lease taken before the kill is drawn on until it runs out or expires;
 * - service resumes on the promoted replica within
 *   down-after + 2 x failover-timeout + the reconnect cap + one call: the
 *   sentinels need down-after to call the master down, then elect a leader
 *   and promote the replica, which may take a second attempt a
 *   failover-timeout later (the first one's election can split); the pool
 *   notices the next time it probes;
 * - the over-admission across the failover is within what asynchronous
 *   replication allows: writes the old master acknowledged but had not yet
 *   sent to the replica are lost, so the promoted replica's bucket is
 *   fuller by at most the tokens granted in that tail, never more than a
 *   burst (a bucket's state is one TAT, at most a burst ahead of its
 *   refill). A bucket therefore admits at most burst + rate x T + burst over
 *   any T that spans one failover, plus, with leases, what leases held. */
#include "test_redis_common.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define CONNECT_NS (100 * MS)
#define COMMAND_NS (100 * MS)
#define RECONNECT_MAX_NS (100 * MS)
/* What scheduling on a loaded 2-core machine may add to a call. */
#define SLACK_NS (250 * MS)

#define RATE 200.0
#define BURST 20

static const char *sentinel_url;
static pid_t master_pid;
static unsigned master_port, replica_port;
static uint64_t down_after_ns, failover_timeout_ns;

#define NEED_SENTINELS() SKIP_UNLESS(sentinel_url != NULL)

/* A pool through the sentinels that notices a failure quickly. */
static rs_redis *sentinel_pool(void)
{
    rs_redis_config c = pool_config(sentinel_url, NULL);
    c.key_prefix = "rs-sentinel-test:";
    c.connect_timeout_ns = CONNECT_NS;
    c.command_timeout_ns = COMMAND_NS;
    c.pool_size = 2;
    c.reconnect.base_ns = 10 * MS;
    c.reconnect.max_ns = RECONNECT_MAX_NS;
    return make_pool(c, NULL);
}

static rs_redis_token_bucket *bucket(rs_redis *r, const char *name, rs_redis_failure mode,
                                     uint32_t lease_instances)
{
    rs_redis_lease_config lease = RS_REDIS_LEASE_CONFIG_DEFAULT;
    lease.instances = lease_instances;
    return make_bucket_with(r, name, RATE, BURST, mode, 0.5, lease, NULL);
}

/* The server the pool reaches now, from its ping ("master 127.0.0.1:P"). */
static bool pool_reaches(rs_redis *r, unsigned port)
{
    char detail[256], expect[64];
    (void)snprintf(expect, sizeof expect, "(master 127.0.0.1:%u)", port);
    return rs_redis_ping(r, detail, sizeof detail) == RS_OK && strstr(detail, expect) != NULL;
}

static void sentinels_name_the_master(void **state)
{
    (void)state;
    NEED_SENTINELS();
    rs_redis *r = sentinel_pool();
    assert_true(pool_reaches(r, master_port));
    rs_redis_free(r);
}

/* What one object did in each phase. */
typedef struct tally {
    const char *name;
    rs_redis_token_bucket *tb;
    uint64_t slowest_ns;
    /* [0] before the kill, [1] until service resumed, [2] after */
    uint64_t ok[3], limited[3], io[3], other[3];
    uint64_t granted;                           /* over the whole run */
} tally;

static void call(tally *t, int phase)
{
    uint64_t t0 = rs_test_now_ns();
    int rc = rs_redis_token_bucket_try_acquire(t->tb, 1);
    uint64_t took = rs_test_now_ns() - t0;
    t->slowest_ns = took > t->slowest_ns ? took : t->slowest_ns;
    switch (rc) {
    case RS_OK:
        t->ok[phase]++;
        t->granted++;
        break;
    case RS_E_LIMITED:
        t->limited[phase]++;
        break;
    case RS_E_IO:
        t->io[phase]++;
        break;
    default:
        t->other[phase]++;
        break;
    }
}

static void failover_keeps_timeouts_policies_and_bounds(void **state)
{
    (void)state;
    NEED_SENTINELS();
    rs_redis *r = sentinel_pool();
    enum { EXACT, LEASED, LOCAL, OPEN, COUNT };
    tally t[COUNT] = {
        { "closed, exact", bucket(r, "fo-exact", RS_REDIS_FAIL_CLOSED, 0), 0, { 0 }, { 0 },
          { 0 }, { 0 }, 0 },
        { "closed, leased", bucket(r, "fo-leased", RS_REDIS_FAIL_CLOSED, 1), 0, { 0 }, { 0 },
          { 0 }, { 0 }, 0 },
        { "local share 0.5", bucket(r, "fo-local", RS_REDIS_FAIL_LOCAL, 0), 0, { 0 }, { 0 },
          { 0 }, { 0 }, 0 },
        { "open", bucket(r, "fo-open", RS_REDIS_FAIL_OPEN, 0), 0, { 0 }, { 0 }, { 0 }, { 0 },
          0 },
    };
    rs_redis_lease_stats lease_before;
    uint64_t start = rs_test_now_ns();
    /* Steady for half a second, through the master. */
    while (rs_test_now_ns() - start < 500 * MS) {
        for (int i = 0; i < COUNT; i++) {
            call(&t[i], 0);
        }
        rs_clock_sleep(NULL, MS);
    }
    assert_int_equal(rs_redis_token_bucket_lease_stats(t[LEASED].tb, &lease_before), RS_OK);
    uint64_t kill_at = rs_test_now_ns();
    assert_int_equal(kill(master_pid, SIGKILL), 0);
    /* Through the failover until the exact bucket is served again, then one
     * more second on the new master. */
    uint64_t bound_ns = down_after_ns + 2 * failover_timeout_ns + RECONNECT_MAX_NS + CONNECT_NS +
                        COMMAND_NS;
    uint64_t resumed_at = 0, limit = kill_at + bound_ns + 10 * SEC;
    while (rs_test_now_ns() < limit) {
        for (int i = 0; i < COUNT; i++) {
            int phase = resumed_at == 0 ? 1 : 2;
            uint64_t ok_before = t[i].ok[1];
            call(&t[i], phase);
            if (i == EXACT && phase == 1 && t[i].ok[1] > ok_before) {
                resumed_at = rs_test_now_ns();
                limit = resumed_at + SEC;
            }
        }
        rs_clock_sleep(NULL, MS);
    }
    uint64_t end = rs_test_now_ns();
    double run_s = (double)(end - start) / 1e9;
    print_message("# killed the master (pid %ld) after %.2f s\n", (long)master_pid,
                  (double)(kill_at - start) / 1e9);
    if (resumed_at != 0) {
        print_message("# service resumed %.2f s after the kill (stated bound %.2f s: "
                      "down-after %.1f + 2 x failover-timeout %.1f + reconnect cap and a call)\n",
                      (double)(resumed_at - kill_at) / 1e9, (double)bound_ns / 1e9,
                      (double)down_after_ns / 1e9, (double)failover_timeout_ns / 1e9);
    }
    for (int i = 0; i < COUNT; i++) {
        print_message("# %-15s slowest call %5.1f ms; ok/limited/io before %llu/%llu/%llu, "
                      "failing over %llu/%llu/%llu, after %llu/%llu/%llu; %llu granted in "
                      "%.2f s\n",
                      t[i].name, (double)t[i].slowest_ns / 1e6,
                      (unsigned long long)t[i].ok[0], (unsigned long long)t[i].limited[0],
                      (unsigned long long)t[i].io[0], (unsigned long long)t[i].ok[1],
                      (unsigned long long)t[i].limited[1], (unsigned long long)t[i].io[1],
                      (unsigned long long)t[i].ok[2], (unsigned long long)t[i].limited[2],
                      (unsigned long long)t[i].io[2], (unsigned long long)t[i].granted, run_s);
    }
    /* Service resumed on the promoted replica within the bound. */
    assert_true(resumed_at != 0);
    assert_true(resumed_at - kill_at <= bound_ns);
    assert_true(pool_reaches(r, replica_port));
    /* Every call kept the timeout it has without a failover. */
    for (int i = 0; i < COUNT; i++) {
        assert_true(t[i].slowest_ns <= CONNECT_NS + COMMAND_NS + SLACK_NS);
        assert_int_equal(t[i].other[0] + t[i].other[1] + t[i].other[2], 0);
        assert_int_equal(t[i].io[0], 0); /* steady before the kill */
        assert_true(t[i].ok[2] > 0);     /* and served again after */
    }
    /* Meanwhile the failure policies answered: CLOSED refused, OPEN and
     * LOCAL never did, the leased bucket drew on its lease first. */
    assert_true(t[EXACT].io[1] > 0);
    assert_int_equal(t[OPEN].io[1] + t[OPEN].limited[1], 0);
    assert_int_equal(t[LOCAL].io[1], 0);
    assert_true(t[LOCAL].ok[1] > 0);
    assert_true(t[LEASED].io[1] > 0);
    /* Over-admission: at most one extra burst (writes lost with the old
     * master), plus what a lease held. */
    double allowed = BURST + RATE * run_s + BURST;
    print_message("# over the run: exact %llu, leased %llu granted; allowed %.0f (+%llu held "
                  "in the lease at most)\n",
                  (unsigned long long)t[EXACT].granted, (unsigned long long)t[LEASED].granted,
                  allowed, (unsigned long long)lease_before.max_units);
    assert_true((double)t[EXACT].granted <= allowed);
    assert_true((double)t[LEASED].granted <= allowed + (double)lease_before.max_units);
    for (int i = 0; i < COUNT; i++) {
        rs_redis_token_bucket_free(t[i].tb);
    }
    rs_redis_free(r);
}

static unsigned env_unsigned(const char *name)
{
    const char *v = getenv(name);
    return v != NULL ? (unsigned)strtoul(v, NULL, 10) : 0;
}

int main(void)
{
    const char *given = getenv("RS_TEST_SENTINEL_URL");
    if (given != NULL && *given != '\0') {
        sentinel_url = given;
        master_pid = (pid_t)env_unsigned("RS_TEST_SENTINEL_MASTER_PID");
        master_port = env_unsigned("RS_TEST_SENTINEL_MASTER_PORT");
        replica_port = env_unsigned("RS_TEST_SENTINEL_REPLICA_PORT");
        down_after_ns = env_unsigned("RS_TEST_SENTINEL_DOWN_AFTER_MS") * MS;
        failover_timeout_ns = env_unsigned("RS_TEST_SENTINEL_FAILOVER_TIMEOUT_MS") * MS;
        if (master_pid <= 0 || master_port == 0 || replica_port == 0 || down_after_ns == 0 ||
            failover_timeout_ns == 0) {
            fprintf(stderr, "RS_TEST_SENTINEL_URL needs the other RS_TEST_SENTINEL_* "
                            "variables (tools/lib/sentinel_stage.sh sets them)\n");
            return 1;
        }
    } else {
        printf("# RS_TEST_SENTINEL_URL not set (tools/test's Sentinel stage sets it): "
               "skipped\n");
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sentinels_name_the_master),
        cmocka_unit_test(failover_keeps_timeouts_policies_and_bounds),
    };
    return cmocka_run_group_tests_name("redis_sentinel", tests, NULL, NULL);
}
