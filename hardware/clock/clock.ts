/*
 * Time for the firmware. `ticks()` is monotonic milliseconds (fractional on
 * Linux, whole on the device), for intervals and timeouts; `now()` is
 * wall-clock milliseconds since the epoch,
 * for timestamps in events (set by SNTP on the device, by the host in the
 * simulator). The two are never mixed.
 */

const bootedAt = Date.now();

function ticksNative(this: unknown): number {
	return native("xs_clock_ticks").call(this);
}

export function ticks(): number {
	return ticksNative();
}

export function now(): number {
	return Date.now();
}

/** Whether the wall clock has been set since boot (time-stamps before then are not trustworthy). */
export function isWallClockSet(): boolean {
	return bootedAt > Date.UTC(2024, 0, 1);
}
