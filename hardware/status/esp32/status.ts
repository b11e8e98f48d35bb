/*
 * Status on the device's user LED (active low on the XIAO ESP32S3): steady
 * when online, slow blink while connecting or offline, fast blink on a fault,
 * dark otherwise. Detail is for logs only and is not shown.
 *
 * While a phone watches the live view, the LED double-blinks once a second
 * (two 100 ms flashes), whatever the state but a fault: a pattern no state
 * has, so that someone at the door can tell that they are being watched.
 */
type DeviceState = "booting" | "provisioning" | "connecting" | "online" | "offline" | "capturing" | "fault";

import Digital from "embedded:io/digital";
import Timer from "timer";
import config from "mc/config";

const blinkMs: Partial<Record<DeviceState, number>> = Object.freeze({ connecting: 500, offline: 1000, fault: 100, provisioning: 250 });

let led: Digital | undefined;
let blinker: ReturnType<typeof Timer.repeat> | undefined;
let lit = false;
let watchers = 0;
let lastState: DeviceState = "booting";
/** The live view's pattern: on at 0 and 200 ms of each second, for 100 ms. */
const watchPattern = Object.freeze([true, false, true, false, false, false, false, false, false, false]);
let watchStep = 0;

function set(on: boolean): void {
	lit = on;
	led!.write(on ? 0 : 1);
}

export function show(state: DeviceState, _detail?: Record<string, string | number | boolean>): void {
	led ??= new Digital({ pin: config.statusLedPin, mode: Digital.Output });
	lastState = state;
	if (blinker) {
		Timer.clear(blinker);
		blinker = undefined;
	}
	if (watchers && (state !== "fault")) {
		watchStep = 0;
		blinker = Timer.repeat(() => set(watchPattern[watchStep++ % watchPattern.length]), 100);
		return;
	}
	const interval = blinkMs[state];
	if (interval)
		blinker = Timer.repeat(() => set(!lit), interval);
	else
		set((state === "online") || (state === "capturing"));
}

export function watching(count: number): void {
	const changed = (count > 0) !== (watchers > 0);
	watchers = count;
	if (changed)
		show(lastState);
}
