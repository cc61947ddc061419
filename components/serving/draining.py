"""How an EKS model's pod leaves its load balancer without failing requests in flight.

When a pod is deleted, the load balancer controller deregisters it from its target group; the
ALB then sends it no new requests and lets requests in flight finish for the target group's
deregistration delay. Until the controller has deregistered it (a few seconds; the endpoints
change must reach the controller and the ELB API), the ALB still sends new requests, so the pod
keeps serving for ``PRE_STOP_SECONDS`` (a preStop sleep) before its server gets SIGTERM. The
deregistration delay is the rest of the pod's grace period, so the ALB has stopped using the pod
before Kubernetes kills it: deregistration delay + preStop = terminationGracePeriodSeconds.
(https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/deploy/pod_readiness_gate/
and the ALB's "Deregistration delay" in its target group attributes documentation.)
"""

TERMINATION_GRACE_SECONDS = 60
PRE_STOP_SECONDS = 15
DEREGISTRATION_DELAY_SECONDS = TERMINATION_GRACE_SECONDS - PRE_STOP_SECONDS
