/*
 * Refusal reports to the owner (src/update/reports.ts): the first of a
 * window at once, the rest counted and reported once when it ends, so a
 * flood makes at most one report per window and the counts add up to every
 * refusal. The clock and the timer are the test's: time moves only when the
 * test says, so nothing here depends on how fast it runs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { RefusalReports } from "update/reports";
import type { Outcome } from "update/reports";

const windowMs = 10 * 60000;

/** A clock and a timer queue the test moves by hand. */
function rig() {
	let time = 0;
	let timers: { at: number; callback: () => void }[] = [];
	const reports: { at: number; outcome: Outcome }[] = [];
	const reporter = new RefusalReports({
		windowMs,
		ticks: () => time,
		later(callback, ms) {
			const timer = { at: time + ms, callback };
			timers.push(timer);
			return () => {
				timers = timers.filter((other) => other !== timer);
			};
		},
		report: (outcome) => reports.push({ at: time, outcome }),
	});
	const advance = (ms: number) => {
		const end = time + ms;
		for (;;) {
			const due = timers.filter((timer) => timer.at <= end).sort((a, b) => a.at - b.at)[0];
			if (!due)
				break;
			timers = timers.filter((timer) => timer !== due);
			time = due.at;
			due.callback();
		}
		time = end;
	};
	return { reporter, reports, advance, pendingTimers: () => timers.length };
}

const refusal = (reason: string): Outcome => ({ outcome: "refused", reason, version: "1.0.0" });

test("a flood of 10,000 refusals over an hour: at most one report per window, counts that add up", () => {
	const { reporter, reports, advance } = rig();
	const flood = 10000;
	for (let i = 0; i < flood; i++) {
		reporter.refused(refusal(i % 3 ? "truncated" : "malformed"));
		advance(360);	// 10,000 refusals in an hour
	}
	advance(windowMs);
	assert.equal(reports.reduce((sum, report) => sum + Number(report.outcome.count), 0), flood, "every refusal counted once");
	for (let i = 1; i < reports.length; i++)
		assert.ok(reports[i].at - reports[i - 1].at >= windowMs, `reports ${i - 1} and ${i} are ${reports[i].at - reports[i - 1].at} ms apart`);
	assert.ok(reports.length <= Math.ceil((flood * 360) / windowMs) + 1, `${reports.length} reports`);
	assert.deepEqual(reports[0].outcome, { outcome: "refused", reason: "malformed", version: "1.0.0", count: 1 });
	assert.match(String(reports[1].outcome.reasons), /^truncated \d+, malformed \d+$/);
});

test("the first refusal is reported at once, the next ones when the window ends, with their count and reasons", () => {
	const { reporter, reports, advance, pendingTimers } = rig();
	reporter.refused(refusal("bad-signature"));
	assert.equal(reports.length, 1);
	assert.equal(reports[0].outcome.count, 1);
	for (let i = 0; i < 4; i++)
		reporter.refused(refusal("truncated"));
	reporter.refused(refusal("malformed"));
	assert.equal(reports.length, 1, "nothing more within the window");
	assert.equal(reporter.pending, 5);
	advance(windowMs - 1);
	assert.equal(reports.length, 1);
	advance(1);
	assert.equal(reports.length, 2);
	assert.deepEqual(reports[1].outcome, { outcome: "refused", reason: "malformed", version: "1.0.0", count: 5, reasons: "truncated 4, malformed 1" });
	// That report opened a window of its own; when it ends empty, the next refusal is reported at once.
	advance(windowMs);
	assert.equal(pendingTimers(), 0);
	reporter.refused(refusal("replay"));
	assert.equal(reports.length, 3);
	assert.equal(reports[2].outcome.count, 1);
});

test("flush reports what is pending at once (before another outcome or a restart), and nothing when there is none", () => {
	const { reporter, reports, advance, pendingTimers } = rig();
	reporter.flush();
	assert.equal(reports.length, 0);
	reporter.refused(refusal("truncated"));
	reporter.refused(refusal("truncated"));
	reporter.refused(refusal("truncated"));
	advance(1000);
	reporter.flush();
	assert.equal(reports.length, 2);
	assert.equal(reports[1].outcome.count, 2);
	assert.equal(reporter.pending, 0);
	assert.equal(pendingTimers(), 1, "one window open, the first one's timer cancelled");
	reporter.refused(refusal("truncated"));
	assert.equal(reports.length, 2, "the flush counts as this window's report");
	advance(windowMs);
	assert.equal(reports.length, 3);
	assert.equal(reports[2].outcome.count, 1);
});
