/*
 * The PIR sensor in Moddable's lin simulator: motion starts at the scene's
 * "motion" events or when a developer says so (see hardware/input/lin/input.ts).
 */
import { listen } from "lin/input";

export default class Motion {
	#stop: (() => void) | undefined;

	constructor(options: { onMotion: () => void }) {
		const onMotion = options.onMotion;
		if (typeof onMotion !== "function")
			throw new TypeError("motion: onMotion is required");
		this.#stop = listen("motion", () => onMotion());
	}

	close(): void {
		this.#stop?.();
		this.#stop = undefined;
	}
}

Object.freeze(Motion.prototype);
