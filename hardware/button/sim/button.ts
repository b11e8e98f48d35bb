/*
 * The simulated doorbell button, pressed by the world over the bridge.
 */
import { onLineHigh, offMessage } from "sim/bridge";
import { ToDevice } from "sim/bridge/messages";

export default class Button {
	#closed = false;

	constructor(options: { onPress: () => void }) {
		if (typeof options.onPress !== "function")
			throw new TypeError("button: onPress is required");
		onLineHigh(ToDevice.Button, options.onPress);
	}

	close(): void {
		if (!this.#closed) {
			this.#closed = true;
			offMessage(ToDevice.Button);
		}
	}
}

Object.freeze(Button.prototype);
