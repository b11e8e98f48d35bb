/*
 * The doorbell button and the PIR sensor in Moddable's lin simulator, which
 * has no GPIO. Each input fires from two sources:
 *
 *  - the scene's timeline (hardware/scene/lin/scene.ts): its "ring" and
 *    "motion" events, at their times after the firmware starts listening,
 *    repeated every period, as the Doorward simulator plays them. Every
 *    mcsim run replays the same visit, headless too.
 *  - a developer at a shell: `touch /tmp/doorward-ring` (or doorward-motion;
 *    /tmp/ is Moddable's file root on lin). The file is polled, deleted when
 *    seen, and counts as one press or one motion start. A file left from
 *    before boot is deleted unseen: a press nobody saw the device take
 *    should not ring later.
 */
import Timer from "timer";
import { File } from "file";
import config from "mc/config";
import { getScene } from "lin/scene";
import type { SceneEvent } from "lin/scene";

const pollMs = 200;

/** Calls `callback` on each `event` until the returned function is called. */
export function listen(event: SceneEvent, callback: () => void): () => void {
	if ((event !== "ring") && (event !== "motion"))
		throw new RangeError(`input: no ${event} on lin`);
	if (typeof callback !== "function")
		throw new TypeError("input: callback must be a function");
	const fire = (source: string) => {
		trace(`lin ${event} (${source})\n`);
		callback();
	};
	const { timeline, period } = getScene();
	const timers = timeline.filter((item) => item.event === event)
		.map((item) => Timer.set(() => fire(`scene at ${item.at} ms`), item.at, period));
	const path = `${config.file.root}doorward-${event}`;
	if (File.exists(path))
		File.delete(path);
	timers.push(Timer.repeat(() => {
		if (File.exists(path)) {
			File.delete(path);
			fire(path);
		}
	}, pollMs));
	return () => timers.forEach((timer) => Timer.clear(timer));
}
