/*
 * The simulated PIR sensor, triggered by the world over the bridge.
 */
import { onLineHigh, offMessage } from "sim/bridge";
import { ToDevice } from "sim/bridge/messages";

export default class Motion {
	#closed = false;

	constructor(options: { onMotion: () => void }) {
		if (typeof options.onMotion !== "function")
			throw new TypeError("motion: onMotion is required");
		onLineHigh(ToDevice.Motion, options.onMotion);
	}

	close(): void {
		if (!this.#closed) {
			this.#closed = true;
			offMessage(ToDevice.Motion);
		}
	}
}

Object.freeze(Motion.prototype);
