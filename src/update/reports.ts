/*
 * Refusals reach the owner as sealed events, and each sealed event takes a
 * 64 KiB outbox slot on flash: erased, written, and perhaps making room by
 * dropping the oldest queued motion event. Anyone who can publish nine bytes
 * on the update topic can cause a refusal, so refusals are coalesced: the
 * first one in a window is reported at once (count 1); the others in that
 * window are counted, and reported together, once, when it ends (count N,
 * and the tally of their reasons). So a flood makes at most one report per
 * window, whatever its rate, and loses no refusal from the count.
 *
 * flush() reports what is pending at once: before any other outcome (so the
 * owner sees the events in order) and before a restart (RAM is lost then).
 * Pure logic: the caller gives the clock, the timer and where reports go.
 */

export type Outcome = Record<string, string | number | boolean>;

export interface RefusalReportOptions {
	/** The window, in milliseconds. */
	readonly windowMs: number;
	/** Monotonic milliseconds (hardware/clock ticks). */
	readonly ticks: () => number;
	/** Calls `callback` in `ms` milliseconds (Timer.set); returns what cancels it. */
	readonly later: (callback: () => void, ms: number) => () => void;
	/** Where coalesced reports go (to the owner, sealed). */
	readonly report: (outcome: Outcome) => void;
}

export class RefusalReports {
	readonly #options: RefusalReportOptions;
	/** When the current window ends (ticks), if one is open. */
	#windowEnds: number | undefined;
	#cancel: (() => void) | undefined;
	#count = 0;
	#last: Outcome | undefined;
	#reasons: Record<string, number> = {};

	constructor(options: RefusalReportOptions) {
		this.#options = options;
	}

	/** Refusals counted and not yet reported. */
	get pending(): number {
		return this.#count;
	}

	/** A refusal (`{outcome: "refused", reason, ...}`): reported now, or counted for the end of the window. */
	refused(outcome: Outcome): void {
		const at = this.#options.ticks();
		if ((this.#windowEnds === undefined) || (at >= this.#windowEnds)) {
			this.#options.report({ ...outcome, count: 1 });
			this.#open(at);
			return;
		}
		this.#count++;
		this.#last = outcome;
		const reason = String(outcome.reason);
		this.#reasons[reason] = (this.#reasons[reason] ?? 0) + 1;
	}

	/** Reports the refusals counted so far, now (if any). */
	flush(): void {
		if (!this.#count)
			return;
		this.#summarize();
		this.#open(this.#options.ticks());
	}

	#open(at: number): void {
		this.#cancel?.();
		this.#windowEnds = at + this.#options.windowMs;
		this.#cancel = this.#options.later(() => this.#ended(), this.#options.windowMs);
	}

	#ended(): void {
		this.#cancel = undefined;
		this.#windowEnds = undefined;
		if (this.#count) {
			// Just reported: a new window starts, so the next refusal waits for its end.
			this.#summarize();
			this.#open(this.#options.ticks());
		}
	}

	#summarize(): void {
		const reasons = Object.keys(this.#reasons)
			.sort((a, b) => (this.#reasons[b] - this.#reasons[a]) || (a < b ? -1 : 1))
			.map((reason) => `${reason} ${this.#reasons[reason]}`).join(", ");
		const summary = { ...this.#last!, count: this.#count, reasons };
		this.#count = 0;
		this.#last = undefined;
		this.#reasons = {};
		this.#options.report(summary);
	}
}

Object.freeze(RefusalReports.prototype);
