#!/bin/bash
# usage: start.sh WORKTREE  -- starts upstream nginx (core 1) and both keelson pairs (core 0), writes pids
set -e
WT=${1:-/work/wt-mtls7}
B0=/tmp/mtls7-b0/two-hop-mtls-turns
H=/tmp/mtls7-hand
export KEELSON_JVM_OPTS="-Xms256m -Xmx256m -XX:+AlwaysPreTouch -XX:+UnlockDiagnosticVMOptions -XX:+PreserveFramePointer ${EXTRA_JVM:-}"
mkdir -p $H/up/tmp
sed "s#/tmp/mtls7-b0/upstream#$H/up#g" /tmp/mtls7-b0/upstream/nginx.conf > $H/up/nginx.conf
mkdir -p $H/up/tmp/{client_body,proxy_temp_path,fastcgi_temp_path,uwsgi_temp_path,scgi_temp_path}
taskset -c 1 nginx -p $H/up -c $H/up/nginx.conf > $H/up/stdout.log 2>&1 &
echo $! > $H/up.pid
for v in keelson keelson-mtls; do
  for hop in hop-b hop-a; do
    case $v-$hop in keelson-hop-a) adm=45001;; keelson-hop-b) adm=45002;; keelson-mtls-hop-a) adm=45003;; keelson-mtls-hop-b) adm=45004;; esac
    taskset -c 0 $WT/bin/keelson proxy --config $B0/$v/$hop/keelson.yaml --admin 127.0.0.1:$adm --concurrency 1 > $H/$v-$hop.log 2>&1 &
    echo $! > $H/$v-$hop.pid
  done
done
for a in 45001 45002 45003 45004; do
  for i in $(seq 1 120); do curl -sf http://127.0.0.1:$a/ready >/dev/null && break; sleep 1; done
done
echo started
