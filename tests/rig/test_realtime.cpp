// rig::RealtimeScope: the rig's timing threads ask for SCHED_FIFO; what they start (host stubs,
// QEMU) must never inherit it, and the thread gets its old scheduling back.
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "rig/realtime.hpp"

namespace consentrig::rig {
namespace {

TEST(Realtime, GivenARealtimeScope_WhenAChildIsStarted_ThenItRunsUnderNormalSchedulingAndTheThreadIsRestored) {
    // GIVEN the calling thread under normal scheduling
    const int before = sched_getscheduler(0);
    ASSERT_GE(before, 0);
    {
        const RealtimeScope scope;
        if (!scope.realtime()) {
            // without the privilege (not root, no CAP_SYS_NICE) the scope says why and changes
            // nothing; the rest needs the privilege, which CI (root) has
            EXPECT_EQ(scope.obtained().rfind("normal (", 0), 0u) << scope.obtained();
            EXPECT_EQ(sched_getscheduler(0), before);
            return;
        }
        EXPECT_EQ(scope.obtained(), "SCHED_FIFO " + std::to_string(kRealtimePriority));
        EXPECT_EQ(sched_getscheduler(0) & ~SCHED_RESET_ON_FORK, SCHED_FIFO);
        // WHEN a child process starts (as a board does)
        const pid_t child = fork();
        ASSERT_GE(child, 0);
        if (child == 0) _exit(sched_getscheduler(0) == SCHED_OTHER ? 0 : 1);
        int status = 0;
        ASSERT_EQ(waitpid(child, &status, 0), child);
        // THEN it runs under normal scheduling
        ASSERT_TRUE(WIFEXITED(status));
        EXPECT_EQ(WEXITSTATUS(status), 0) << "the child inherited real-time scheduling";
    }
    // AND the thread has its old scheduling back
    EXPECT_EQ(sched_getscheduler(0), before);
}

}  // namespace
}  // namespace consentrig::rig
