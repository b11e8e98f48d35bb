/*
 * The firmware, as it boots on the simulator (src/main), plus a report of
 * its memory for `npm run soak` (tools/soak): every half second a line
 *
 *   soak-memory {"chunks": bytes, "slots": count}
 *
 * on stderr, taken by host.memory() after a full collection, so what stays
 * is what the firmware still holds.
 */
import "main";
import Timer from "timer";

Timer.repeat(() => {
	trace(`soak-memory ${JSON.stringify(host.memory())}\n`);
}, 500);
