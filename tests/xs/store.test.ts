/*
 * The stores on the simulator's real file-backed flash (sectors the firmware
 * leaves unused), as they run on the device.
 */
import { test, equal, ok } from "tests/harness";
import Flash from "flash";
import Counter from "store/counter";
import { flashRegion } from "store/flash-region";
import { readRecord, writeRecord } from "store/record";

const scratch = 8; // sectors 8..11 of the doorward partition are not used by the firmware

test("a record reads back, and a torn or erased one reads as absent", () => {
	const flash = flashRegion(new Flash("doorward"));
	const payload = Uint8Array.of(1, 2, 3, 250);
	writeRecord(flash, scratch, payload);
	const read = readRecord(flash, scratch)!;
	equal(Array.from(read).join(","), "1,2,3,250", "payload");
	flash.erase(scratch);
	equal(readRecord(flash, scratch), undefined, "erased");
	// A power cut after the payload but before the header: nothing valid.
	flash.write(scratch * 4096 + 12, 4, payload);
	equal(readRecord(flash, scratch), undefined, "torn");
});

test("the counter survives being reopened and rolls over between its sectors", () => {
	const flash = flashRegion(new Flash("doorward"));
	flash.erase(scratch + 2);
	flash.erase(scratch + 3);
	let counter = new Counter(flash, scratch + 2);
	equal(counter.value, 0, "starts at 0");
	for (let i = 1; i <= 1500; i++)
		equal(counter.increment(), i, "increment");
	counter = new Counter(flash, scratch + 2);
	equal(counter.value, 1500, "reopened after a rollover (1024 slots a sector)");
	ok(counter.increment() === 1501, "continues");
});
