/*
 * The PIR motion sensor. `onMotion` is called when motion starts.
 */
declare module "hardware/motion" {
	export interface MotionOptions {
		onMotion: () => void;
	}
	export default class Motion {
		constructor(options: MotionOptions);
		close(): void;
	}
}
