/*
 * The device's clock, in the simulator host. XS's Date reads the computer's
 * clock, which is always set; the device's is not. So the wall clock here is
 * modelled as the device's: it reads the epoch (1970-01-01) at power-up and
 * runs from there, until the world's SNTP server answers the request that
 * synchronize() sends (bridge messages TimeRequest and Time, the world's side
 * in tools/sim/world.ts). Like SNTP, the answer is not authenticated: the
 * world may give any time, or none. `ticks()` is the host's monotonic clock,
 * the same C as lin (hardware/clock/linux/clock.c).
 */
import { onMessage, send } from "sim/bridge";
import { ToDevice, ToWorld } from "sim/bridge/messages";

function ticksNative(this: unknown): number {
	return native("xs_clock_ticks").call(this);
}

export function ticks(): number {
	return ticksNative();
}

// The wall clock read `wall` at `since` (ticks); undefined until first read,
// which stands for power-up (this module is preloaded: nothing runs at load).
let since: number | undefined;
let wall = 0;

/** Whole milliseconds, as Date.now() gives them. */
export function now(): number {
	const at = ticks();
	since ??= at;
	return Math.floor(wall + (at - since));
}

let asked = false;

/** Asks the world's SNTP server for the time, once; its answer (whenever it comes, if ever) sets the wall clock. */
export function synchronize(): void {
	if (asked)
		return;
	asked = true;
	now();	// power-up: the clock starts at the epoch from here
	onMessage(ToDevice.Time, (payload) => {
		if (payload.byteLength !== 8)
			return;
		const time = new DataView(payload).getFloat64(0);
		if (!Number.isSafeInteger(time) || (time < 0))
			return;
		since = ticks();
		wall = time;
	});
	send(ToWorld.TimeRequest);
}
