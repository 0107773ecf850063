package jetstream_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/itsmkit/itsmkit/bridge/jetstream"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
)

// The subject and message ID an event is published with. A kind or an
// action that holds dots, wildcards or spaces stays one token.
func ExampleSubject() {
	e := itsm.Event{Kind: "incident", RecordID: "INC0001001", Sequence: 3, Action: "resolve"}
	fmt.Println(jetstream.Subject("itsm", e))
	fmt.Println(jetstream.MsgID(e))

	odd := itsm.Event{Kind: "custom.kind", RecordID: "R 1", Sequence: 1, Action: "*"}
	fmt.Println(jetstream.Subject("acme.itsm", odd))
	fmt.Println(jetstream.MsgID(odd))
	// Output:
	// itsm.incident.resolve
	// incident/INC0001001/3
	// acme.itsm.custom%2Ekind.%2A
	// custom%2Ekind/R%201/1
}

// Publishing outbox messages to JetStream and reading them back. It needs
// a NATS server, so it is compiled but not run.
func ExamplePublisher() {
	ctx := context.Background()
	nc, err := nats.Connect(nats.DefaultURL)
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, err := natsjs.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	// One stream keeps every subject under "itsm", dropping repeats that
	// come within ten minutes.
	stream, err := jetstream.EnsureStream(ctx, js, "ITSM", "itsm", 10*time.Minute)
	if err != nil {
		log.Fatal(err)
	}
	p, err := jetstream.New(js, jetstream.Config{Prefix: "itsm"})
	if err != nil {
		log.Fatal(err)
	}
	// Hand p to an outbox deliverer; here one message is delivered by hand.
	err = p.Deliver(ctx, record.Message{ID: 1, Event: itsm.Event{
		Kind: "incident", RecordID: "INC0001001", Sequence: 1,
		Actor: itsm.Actor{ID: "alice"}, At: time.Now(), Action: "open", To: "new",
	}})
	if err != nil {
		log.Fatal(err)
	}

	// A service that wants incidents only.
	cons, err := stream.CreateOrUpdateConsumer(ctx, natsjs.ConsumerConfig{
		Durable: "incident-dashboard", FilterSubject: "itsm.incident.>", AckPolicy: natsjs.AckExplicitPolicy,
	})
	if err != nil {
		log.Fatal(err)
	}
	msg, err := cons.Next()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(msg.Subject(), msg.Headers().Get(natsjs.MsgIDHeader))
	_ = msg.Ack()
}
