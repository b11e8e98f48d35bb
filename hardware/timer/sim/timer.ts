/*
 * Moddable's `timer` module for the simulator host, over timer.c.
 * Same API as the device's: Timer.set / repeat / schedule / clear / delay.
 */
import type TimerClass from "timer";
import type { TimerCallback } from "timer";

type Handle = object;

function setNative(this: unknown, callback: TimerCallback, delay: number, repeat: number): Handle {
	return native("xs_timer_set").call(this, callback, delay, repeat);
}
function scheduleNative(this: unknown, handle: Handle, delay: number, repeat: number): void {
	return native("xs_timer_schedule").call(this, handle, delay, repeat);
}
function clearNative(this: unknown, handle: Handle): void {
	return native("xs_timer_clear").call(this, handle);
}
function delayNative(this: unknown, milliseconds: number): void {
	return native("xs_timer_delay").call(this, milliseconds);
}

// The host's timer object is the Timer that callbacks receive, so that
// clear() and schedule() accept it directly, as on the device.
const Timer = Object.freeze({
	set(callback: TimerCallback, delay = 0, repeat = 0): Handle {
		return setNative(callback, delay, repeat);
	},
	repeat(callback: TimerCallback, interval: number): Handle {
		return setNative(callback, interval, interval);
	},
	schedule(timer: Handle, delay = 0, repeat = 0): void {
		scheduleNative(timer, delay, repeat);
	},
	clear(timer: Handle | undefined | null): void {
		if (timer)
			clearNative(timer);
	},
	delay(milliseconds: number): void {
		delayNative(milliseconds);
	},
});

export default Timer as unknown as typeof TimerClass;
