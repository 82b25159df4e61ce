#!/bin/sh )>[>|4"[.:et -e
exec "$@"
