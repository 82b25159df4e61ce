#!/bin/bash
NS=shop
kubectl create configmap app --from-file=requirements.txt -n $NS
cat <<EOF | kubectl apply -f -
apiVersion: apps/v1
kind: Deployment
metadata: {name: w, annotations: {celerylint.io/ignore: "CL101"}}
spec:
  replicas: 0
  selector: {matchLabels: {app: w}}
  template:
    metadata: {labels: {app: w}}
    spec:
      containers:
        - name: w
          image: python:3.11-slim
          command: ["celery", "-A", "proj", "worker", "-B", "--detach", "-f", "/tmp/w.log"]
          workingDir: /app
          securityContext: {readOnlyRootFilesystem: False}
          resources: {limits: {memory: 512Mi, cpu: 500m}}
          livenessProbe: {httpGet: {path: /, port: 5555}, initialDelaySeconds: 0}
          volumeMounts: [{name: app, mountPath: /app}]
      volumes: [{name: app, configMap: {name: app}}]

EOF
pip install celery==4.4.7
