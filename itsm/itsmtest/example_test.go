package itsmtest_test

import (
	"fmt"
	"time"

	"github.com/itsmkit/itsmkit/itsm/itsmtest"
)

// A test clock stands still until the test moves it, so SLA and
// auto-close logic can be checked at exact instants.
func ExampleClock() {
	clock := itsmtest.NewClock(time.Date(2026, 11, 20, 16, 30, 0, 0, time.UTC))
	fmt.Println(clock.Now().Format(time.Kitchen))
	clock.Advance(90 * time.Minute)
	fmt.Println(clock.Now().Format(time.Kitchen))
	// Output:
	// 4:30PM
	// 6:00PM
}
