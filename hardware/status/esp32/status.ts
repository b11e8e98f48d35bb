/*
 * Status on the device's user LED (active low on the XIAO ESP32S3): steady
 * when online, slow blink while connecting or offline, fast blink on a fault,
 * dark otherwise. Detail is for logs only and is not shown.
 */
type DeviceState = "booting" | "provisioning" | "connecting" | "online" | "offline" | "capturing" | "fault";

import Digital from "embedded:io/digital";
import Timer from "timer";
import config from "mc/config";

const blinkMs: Partial<Record<DeviceState, number>> = Object.freeze({ connecting: 500, offline: 1000, fault: 100, provisioning: 250 });

let led: Digital | undefined;
let blinker: ReturnType<typeof Timer.repeat> | undefined;
let lit = false;

function set(on: boolean): void {
	lit = on;
	led!.write(on ? 0 : 1);
}

export function show(state: DeviceState, _detail?: Record<string, string | number | boolean>): void {
	led ??= new Digital({ pin: config.statusLedPin, mode: Digital.Output });
	if (blinker) {
		Timer.clear(blinker);
		blinker = undefined;
	}
	const interval = blinkMs[state];
	if (interval)
		blinker = Timer.repeat(() => set(!lit), interval);
	else
		set((state === "online") || (state === "capturing"));
}
