/*
 * A real press during a clip's detection, driven by
 * tests/integration/inference-press.test.ts, whose world holds the button
 * (not named *.test: it needs that world on the bridge).
 *
 * The detect stage examines the default scene's visitor with the model held
 * on its worker thread (the simulator's gate, hardware/inference hold). Once
 * a run is out, the device tells the world (a Status message), the world
 * presses the button over the bridge, and the press comes in through the
 * button module as on a doorbell. Its handler must run while the model run
 * is still out, and before the clip's detection completes: order of events,
 * not time.
 */
import { hold, pending } from "hardware/inference";
import resource from "hardware/resource";
import Button from "hardware/button";
import { send } from "sim/bridge";
import { ToWorld } from "sim/bridge/messages";
import Timer from "timer";
import Detection from "pipeline/detection";
import { utf8Encode } from "util/bytes";
import { equal, ok, test } from "tests/harness";

const visitor = [0, 1, 2, 3].map((index) => new Uint8Array(host.readFile(`tools/scenes/default/frames/visitor-${index}.jpg`)));

function when(condition: () => boolean, then: () => void): void {
	Timer.set(() => (condition() ? then() : when(condition, then)), 1);
}

test("the world presses during a clip's detection: the press is handled while the model runs, before the detection completes", async () => {
	const events: string[] = [];
	const stage = new Detection({ model: "face_detection_full_range_int8.tflite", load: resource, zones: [], enabled: true });
	const button = new Button({
		onPress: () => {
			events.push(`press handled, ${pending()} run out`);
			hold(false);
		},
	});
	hold(true);
	try {
		const detecting = stage.process(visitor).then((result) => {
			events.push(`detection done: ${result.report.status}`);
			return result;
		});
		when(() => pending() > 0, () => {
			events.push("model running, press requested");
			send(ToWorld.Status, utf8Encode(JSON.stringify({ state: "press-me" })).buffer as ArrayBuffer);
		});
		const result = await detecting;
		ok((result.report.modelRuns ?? 0) >= 1, "the model ran");
	}
	finally {
		hold(false);
		button.close();
		stage.close();
	}
	equal(events.join("; "), "model running, press requested; press handled, 1 run out; detection done: found", "order of events");
});
