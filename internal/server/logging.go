package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/sirupsen/logrus"
)

// routeLogrus sends go-mysql-server's logrus output to log. GMS logs every
// connection and many internals at logrus's Info level; those become slog
// Debug so a server at --log-level=info prints only what RelayDB itself says
// plus GMS's warnings and errors.
//
// logrus is process-wide, like GMS's system variables.
func routeLogrus(log *slog.Logger) {
	std := logrus.StandardLogger()
	std.SetOutput(io.Discard)
	std.ReplaceHooks(logrus.LevelHooks{})
	std.AddHook(&slogHook{log: log})
	switch {
	case log.Enabled(context.Background(), slog.LevelDebug):
		std.SetLevel(logrus.DebugLevel)
	default:
		std.SetLevel(logrus.WarnLevel)
	}
}

type slogHook struct {
	log *slog.Logger
}

func (h *slogHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h *slogHook) Fire(e *logrus.Entry) error {
	var lvl slog.Level
	switch e.Level {
	case logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel:
		lvl = slog.LevelError
	case logrus.WarnLevel:
		lvl = slog.LevelWarn
		if e.Message == "error running query" {
			// A client's failed statement is the client's business.
			lvl = slog.LevelDebug
		}
	default:
		lvl = slog.LevelDebug
	}
	if lvl > slog.LevelDebug && strings.Contains(e.Message, "use of closed network connection") {
		// Connections closed by our own shutdown.
		lvl = slog.LevelDebug
	}
	ctx := context.Background()
	if !h.log.Enabled(ctx, lvl) {
		return nil
	}
	attrs := make([]slog.Attr, 0, len(e.Data)+1)
	attrs = append(attrs, slog.String("component", "gms"))
	for k, v := range e.Data {
		attrs = append(attrs, slog.String(k, fmt.Sprint(v)))
	}
	h.log.LogAttrs(ctx, lvl, e.Message, attrs...)
	return nil
}
