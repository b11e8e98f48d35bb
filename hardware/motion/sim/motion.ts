/*
 * The simulated PIR sensor, triggered by the world over the bridge.
 */
import { onMessage, offMessage } from "sim/bridge";
import { ToDevice } from "sim/bridge/messages";

export default class Motion {
	#closed = false;

	constructor(options: { onMotion: () => void }) {
		const onMotion = options.onMotion;
		if (typeof onMotion !== "function")
			throw new TypeError("motion: onMotion is required");
		onMessage(ToDevice.Motion, (payload) => {
			if ((payload.byteLength === 1) && (new Uint8Array(payload)[0] === 1))
				onMotion();
		});
	}

	close(): void {
		if (!this.#closed) {
			this.#closed = true;
			offMessage(ToDevice.Motion);
		}
	}
}

Object.freeze(Motion.prototype);
