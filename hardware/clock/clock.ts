/*
 * Time for the firmware. `ticks()` is monotonic milliseconds (fractional on
 * Linux, whole on the device), for intervals and timeouts; `now()` is
 * wall-clock milliseconds since the epoch, for timestamps in events. The two
 * are never mixed.
 *
 * The wall clock is the system time. On the device it starts near 1970 at
 * power-up, until Moddable's setup/network sets it by SNTP
 * (manifest_net.json `config.sntp`, `Time.set`) before main runs; SNTP is not
 * authenticated, so the firmware trusts it only at or above its time floor
 * (src/device/time.ts). On lin (mcsim) it is the computer's clock. The
 * simulator host models the device's clock instead (hardware/clock/sim).
 */

function ticksNative(this: unknown): number {
	return native("xs_clock_ticks").call(this);
}

export function ticks(): number {
	return ticksNative();
}

export function now(): number {
	return Date.now();
}

/**
 * Starts taking the wall clock from the network's time service. Nothing to
 * do here: on the device setup/network's SNTP client has run before main.
 */
export function synchronize(): void {
}
