/*
 * The simulated doorbell button, pressed and released by the world over the
 * bridge (payload u8: 1 pressed, 0 released). Held down for `holdMs`, it
 * calls `onHold` once, timed by the device's own timer, as on the device.
 */
import Timer from "timer";
import { onMessage, offMessage } from "sim/bridge";
import { ToDevice } from "sim/bridge/messages";

const defaultHoldMs = 10000;

export default class Button {
	#closed = false;
	#hold: ReturnType<typeof Timer.set> | undefined;

	constructor(options: { onPress: () => void; onHold?: () => void; holdMs?: number }) {
		if (typeof options.onPress !== "function")
			throw new TypeError("button: onPress is required");
		const { onPress, onHold } = options;
		const holdMs = options.holdMs ?? defaultHoldMs;
		onMessage(ToDevice.Button, (payload) => {
			if (payload.byteLength !== 1)
				return;
			const pressed = new Uint8Array(payload)[0] === 1;
			this.#clearHold();
			if (!pressed)
				return;
			if (onHold) {
				this.#hold = Timer.set(() => {
					this.#hold = undefined;
					onHold();
				}, holdMs);
			}
			onPress();
		});
	}

	#clearHold(): void {
		if (this.#hold !== undefined) {
			Timer.clear(this.#hold);
			this.#hold = undefined;
		}
	}

	close(): void {
		if (!this.#closed) {
			this.#closed = true;
			this.#clearHold();
			offMessage(ToDevice.Button);
		}
	}
}

Object.freeze(Button.prototype);
