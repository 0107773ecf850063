package jetstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/bridge/jetstream"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/outbox"
	"github.com/itsmkit/itsmkit/record"
)

var _ outbox.Handler = (*jetstream.Publisher)(nil)

func TestOneStreamMessagePerMessage(t *testing.T) {
	t.Parallel()
	_, js := connect(t)
	s, prefix := newStream(t, js)
	p, err := jetstream.New(js, jetstream.Config{Prefix: prefix})
	require.NoError(t, err)
	ctx := t.Context()
	want := []record.Message{message(1, "INC1", 1), message(2, "INC1", 2), message(3, "INC2", 1)}
	want[1].Event.Action = "set-priority"
	want[2].Event.Kind = "problem"
	for _, m := range want {
		require.NoError(t, p.Deliver(ctx, m))
	}
	info, err := s.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(len(want)), info.State.Msgs)
	for i, m := range want {
		raw, err := s.GetMsg(ctx, uint64(i+1))
		require.NoError(t, err)
		require.Equal(t, jetstream.Subject(prefix, m.Event), raw.Subject)
		require.Equal(t, jetstream.MsgID(m.Event), raw.Header.Get(natsjs.MsgIDHeader))
		var got itsm.Event
		require.NoError(t, json.Unmarshal(raw.Data, &got))
		require.Empty(t, cmp.Diff(m.Event, got))
	}
	raw, err := s.GetMsg(ctx, 3)
	require.NoError(t, err)
	require.Equal(t, prefix+".problem.resolve", raw.Subject)
}

func TestRepeatsPublishOnce(t *testing.T) {
	t.Parallel()
	_, js := connect(t)
	s, prefix := newStream(t, js)
	p, err := jetstream.New(js, jetstream.Config{Prefix: prefix})
	require.NoError(t, err)
	ctx := t.Context()
	m := message(7, "INC7", 3)
	first, err := p.Publish(ctx, m)
	require.NoError(t, err)
	require.False(t, first.Duplicate)
	again, err := p.Publish(ctx, m)
	require.NoError(t, err)
	require.True(t, again.Duplicate)
	require.Equal(t, first.Sequence, again.Sequence)
	// The same event from another outbox message is the same event.
	other := m
	other.ID, other.Attempts = 99, 4
	require.NoError(t, p.Deliver(ctx, other))

	const n = 8
	c := message(8, "INC8", 1)
	var wg sync.WaitGroup
	acks := make(chan *natsjs.PubAck, n)
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			ack, err := p.Publish(context.Background(), c)
			errs <- err
			if err == nil {
				acks <- ack
			}
		})
	}
	wg.Wait()
	close(errs)
	close(acks)
	for err := range errs {
		require.NoError(t, err)
	}
	fresh := 0
	for ack := range acks {
		if !ack.Duplicate {
			fresh++
		}
	}
	require.Equal(t, 1, fresh, "exactly one concurrent delivery is stored")
	info, err := s.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(2), info.State.Msgs, "one stream message per event")
}

func TestSubscriberReceivesEvent(t *testing.T) {
	t.Parallel()
	_, js := connect(t)
	s, prefix := newStream(t, js)
	ctx := t.Context()
	cons, err := s.CreateOrUpdateConsumer(ctx, natsjs.ConsumerConfig{
		FilterSubject: prefix + ".incident.>",
		AckPolicy:     natsjs.AckExplicitPolicy,
	})
	require.NoError(t, err)
	p, err := jetstream.New(js, jetstream.Config{Prefix: prefix})
	require.NoError(t, err)
	other := message(1, "PRB1", 1)
	other.Event.Kind = "problem"
	m := message(2, "INC2", 5)
	m.Event.Reason = "naïve \"quotes\"\nand lines"
	require.NoError(t, p.Deliver(ctx, other))
	require.NoError(t, p.Deliver(ctx, m))
	require.NoError(t, p.Deliver(ctx, m))

	batch, err := cons.Fetch(1, natsjs.FetchMaxWait(30*time.Second))
	require.NoError(t, err)
	var got []natsjs.Msg
	for msg := range batch.Messages() {
		got = append(got, msg)
		require.NoError(t, msg.Ack())
	}
	require.NoError(t, batch.Error())
	require.Len(t, got, 1)
	ci, err := cons.Info(ctx)
	require.NoError(t, err)
	require.Zero(t, ci.NumPending, "the filter takes incidents only, and the stream dropped the repeat")
	si, err := s.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(2), si.State.Msgs)
	require.Equal(t, prefix+".incident.resolve", got[0].Subject())
	require.Equal(t, "incident/INC2/5", got[0].Headers().Get(natsjs.MsgIDHeader))
	var e itsm.Event
	require.NoError(t, json.Unmarshal(got[0].Data(), &e))
	require.Empty(t, cmp.Diff(m.Event, e))
}

func TestCustomSubject(t *testing.T) {
	t.Parallel()
	_, js := connect(t)
	s, prefix := newStream(t, js)
	ctx := t.Context()
	p, err := jetstream.New(js, jetstream.Config{Prefix: prefix, Subject: func(prefix string, e itsm.Event) string {
		if e.Action == "bad" {
			return prefix + ".a b"
		}
		return prefix + ".records." + jetstream.Token(e.RecordID)
	}})
	require.NoError(t, err)
	require.NoError(t, p.Deliver(ctx, message(1, "INC.1", 1)))
	raw, err := s.GetMsg(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, prefix+".records.INC%2E1", raw.Subject)

	bad := message(2, "INC2", 1)
	bad.Event.Action = "bad"
	err = p.Deliver(ctx, bad)
	require.ErrorIs(t, err, outbox.ErrPermanent)
	require.ErrorIs(t, err, itsm.ErrValidation)
}

func TestRefusedIsPermanent(t *testing.T) {
	t.Parallel()
	_, js := connect(t)
	ctx := t.Context()

	// No stream takes the subject.
	p, err := jetstream.New(js, jetstream.Config{Prefix: "itsmtest_nostream_" + unique()})
	require.NoError(t, err)
	err = p.Deliver(ctx, message(1, "INC1", 1))
	require.ErrorIs(t, err, outbox.ErrPermanent)
	require.ErrorIs(t, err, natsjs.ErrNoStreamResponse)

	// The stream refuses a message this large.
	id := unique()
	name, prefix := "ITSM_TEST_"+strings.ToUpper(id), "itsmtest_"+id
	_, err = js.CreateStream(ctx, natsjs.StreamConfig{Name: name, Subjects: []string{prefix + ".>"}, Storage: natsjs.MemoryStorage, MaxMsgSize: 64})
	require.NoError(t, err)
	t.Cleanup(func() { deleteStream(t, js, name) })
	p, err = jetstream.New(js, jetstream.Config{Prefix: prefix})
	require.NoError(t, err)
	err = p.Deliver(ctx, message(2, "INC2", 1))
	require.ErrorIs(t, err, outbox.ErrPermanent)
	require.ErrorIs(t, err, natsjs.ErrStreamMessageExceedsMaximum)

	// An event no store keeps.
	bad := message(3, "", 0)
	err = p.Deliver(ctx, bad)
	require.ErrorIs(t, err, outbox.ErrPermanent)
	var v *itsm.ValidationError
	require.ErrorAs(t, err, &v)
	require.True(t, v.Has("record_id"))
	require.True(t, v.Has("sequence"))
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	_, err := jetstream.New(nil, jetstream.Config{})
	var v *itsm.ValidationError
	require.ErrorAs(t, err, &v)
	require.True(t, v.Has("js"))
	require.True(t, v.Has("prefix"))
	require.NotErrorIs(t, err, outbox.ErrPermanent)
	for _, prefix := range []string{"a b", "a.>", "a..b", "*"} {
		_, err = jetstream.New(nil, jetstream.Config{Prefix: prefix})
		require.ErrorAs(t, err, &v)
		require.True(t, v.Has("prefix"), prefix)
	}
	_, err = jetstream.New(nil, jetstream.Config{Subject: func(string, itsm.Event) string { return "x" }})
	require.ErrorAs(t, err, &v)
	require.Equal(t, []itsm.FieldError{{Field: "js", Message: "must not be nil"}}, v.Fields)
}

// TestUnreachableServerIsRetryable publishes while the server cannot be
// reached: after a connection to it was lost, before a connection was
// ever made, and through a closed connection. No error is permanent.
func TestUnreachableServerIsRetryable(t *testing.T) {
	t.Parallel()
	url := testURL(t)

	// Lost: the connection goes through a proxy, which then cuts it and
	// refuses new connections, so the client keeps reconnecting.
	proxy := newProxy(t, strings.TrimPrefix(url, "nats://"))
	nc, err := nats.Connect("nats://"+proxy.addr(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := natsjs.New(nc)
	require.NoError(t, err)
	_, direct := connect(t)
	_, prefix := newStream(t, direct)
	p, err := jetstream.New(js, jetstream.Config{Prefix: prefix})
	require.NoError(t, err)
	require.NoError(t, p.Deliver(t.Context(), message(1, "INC1", 1)), "published while the server is reachable")
	proxy.cut()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	err = p.Deliver(ctx, message(2, "INC1", 2))
	require.Error(t, err)
	require.False(t, errors.Is(err, outbox.ErrPermanent), "%v", err)
	require.Contains(t, err.Error(), "incident/INC1/2")

	// Never connected: nats.RetryOnFailedConnect gives a connection that
	// is still trying.
	nc2, err := nats.Connect("nats://"+proxy.addr(), nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(nc2.Close)
	js2, err := natsjs.New(nc2)
	require.NoError(t, err)
	p, err = jetstream.New(js2, jetstream.Config{Prefix: prefix})
	require.NoError(t, err)
	ctx, cancel = context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	err = p.Deliver(ctx, message(3, "INC1", 3))
	require.Error(t, err)
	require.False(t, errors.Is(err, outbox.ErrPermanent), "%v", err)

	// Closed.
	live, js3 := connect(t)
	p, err = jetstream.New(js3, jetstream.Config{Prefix: prefix})
	require.NoError(t, err)
	live.Close()
	err = p.Deliver(t.Context(), message(4, "INC1", 4))
	require.ErrorIs(t, err, nats.ErrConnectionClosed)
	require.False(t, errors.Is(err, outbox.ErrPermanent), "%v", err)
}

// proxy forwards TCP connections on a loopback port to a server until
// cut, after which it refuses connections.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{ln: ln}
	t.Cleanup(p.cut)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
			go func() { _, _ = io.Copy(c, s); _ = c.Close() }()
		}
	}()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

// cut closes the listener and every forwarded connection.
func (p *proxy) cut() {
	_ = p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func TestEnsureStream(t *testing.T) {
	t.Parallel()
	_, js := connect(t)
	ctx := t.Context()
	id := unique()
	name := "ITSM_TEST_" + strings.ToUpper(id)
	s, err := jetstream.EnsureStream(ctx, js, name, "itsmtest_"+id, 0)
	require.NoError(t, err)
	t.Cleanup(func() { deleteStream(t, js, name) })
	cfg := s.CachedInfo().Config
	require.Equal(t, []string{"itsmtest_" + id + ".>"}, cfg.Subjects)
	require.Equal(t, 2*time.Minute, cfg.Duplicates)

	// Settings of the stream's own survive; a second prefix is added, and
	// asking again for what is there changes nothing.
	cfg.MaxAge = time.Hour
	_, err = js.UpdateStream(ctx, cfg)
	require.NoError(t, err)
	s, err = jetstream.EnsureStream(ctx, js, name, "itsmtest_"+id+"_b", 10*time.Minute)
	require.NoError(t, err)
	cfg = s.CachedInfo().Config
	require.Equal(t, []string{"itsmtest_" + id + ".>", "itsmtest_" + id + "_b.>"}, cfg.Subjects)
	require.Equal(t, 10*time.Minute, cfg.Duplicates)
	require.Equal(t, time.Hour, cfg.MaxAge)
	s, err = jetstream.EnsureStream(ctx, js, name, "itsmtest_"+id, 0)
	require.NoError(t, err)
	require.Equal(t, cfg, s.CachedInfo().Config)

	p, err := jetstream.New(js, jetstream.Config{Prefix: "itsmtest_" + id + "_b"})
	require.NoError(t, err)
	require.NoError(t, p.Deliver(ctx, message(1, "INC1", 1)))

	// A window longer than MaxAge is the server's to refuse.
	_, err = jetstream.EnsureStream(ctx, js, name, "itsmtest_"+id, 2*time.Hour)
	require.Error(t, err)

	_, err = jetstream.EnsureStream(ctx, nil, "a.b", "a b", -time.Second)
	var v *itsm.ValidationError
	require.ErrorAs(t, err, &v)
	require.Equal(t, 4, len(v.Fields), "%v", err)
}
