package sqlite

// RaceEnabled reports to the external tests whether the race detector is
// on (see raceEnabled).
const RaceEnabled = raceEnabled
